using System.Text;
using System.Text.Json;

namespace MlNetLlm.AutoMl;

/// <summary>
/// An ordered set of named <see cref="Parameter"/>s. A point of the space is a <see cref="ParameterSet"/>; tuners
/// work in the normalized unit hypercube [0,1]^d (one coordinate per parameter, in declaration order) and convert
/// with <see cref="ToUnit"/> / <see cref="FromUnit"/>.
/// </summary>
public sealed class SearchSpace
{
    private readonly List<Parameter> parameters = [];
    private readonly Dictionary<string, int> index = new(StringComparer.Ordinal);

    public SearchSpace() { }

    public SearchSpace(IEnumerable<Parameter> parameters)
    {
        foreach (var p in parameters) Add(p);
    }

    public SearchSpace(params Parameter[] parameters) : this((IEnumerable<Parameter>)parameters) { }

    public IReadOnlyList<Parameter> Parameters => parameters;

    /// <summary>Number of parameters (dimensions of the unit hypercube).</summary>
    public int Dimension => parameters.Count;

    public Parameter this[string name] => TryGet(name, out var p) ? p : throw Unknown(name);

    public bool Contains(string name) => index.ContainsKey(name);

    public bool TryGet(string name, out Parameter parameter)
    {
        bool found = index.TryGetValue(name, out int i);
        parameter = found ? parameters[i] : null!;
        return found;
    }

    /// <summary>Adds a parameter (names must be unique) and returns this space, for chaining.</summary>
    public SearchSpace Add(Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (!index.TryAdd(parameter.Name, parameters.Count)) throw new ArgumentException($"The search space already has a parameter named '{parameter.Name}'.");
        parameters.Add(parameter);
        return this;
    }

    public SearchSpace AddFloat(string name, double low, double high, bool log = false, double? defaultValue = null, double? lowCost = null) =>
        Add(new FloatParameter(name, low, high, log, defaultValue, lowCost));

    public SearchSpace AddInt(string name, int low, int high, bool log = false, int? defaultValue = null, int? lowCost = null) =>
        Add(new IntParameter(name, low, high, log, defaultValue, lowCost));

    public SearchSpace AddChoice(string name, IEnumerable<object> values, object? defaultValue = null, object? lowCost = null) =>
        Add(new ChoiceParameter(name, values, defaultValue, lowCost));

    /// <summary>Number of distinct points, or null when a parameter is continuous (or the count overflows).</summary>
    public long? Cardinality
    {
        get
        {
            long total = 1;
            foreach (var p in parameters)
            {
                if (p.Cardinality is not long c) return null;
                try { total = checked(total * c); }
                catch (OverflowException) { return null; }
            }
            return total;
        }
    }

    /// <summary>Every parameter at its default.</summary>
    public ParameterSet Defaults() => new(parameters.Select(p => new KeyValuePair<string, object>(p.Name, p.Default)));

    /// <summary>Every parameter at its low-cost value (where cost-frugal search starts).</summary>
    public ParameterSet LowCost() => new(parameters.Select(p => new KeyValuePair<string, object>(p.Name, p.LowCost)));

    /// <summary>A point drawn uniformly from the unit hypercube (so log parameters are log-uniform).</summary>
    public ParameterSet Sample(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var u = new double[parameters.Count];
        for (int i = 0; i < u.Length; i++) u[i] = random.NextDouble();
        return FromUnit(u);
    }

    /// <summary>The point at unit coordinates <paramref name="unit"/> (each clamped to [0, 1]).</summary>
    public ParameterSet FromUnit(IReadOnlyList<double> unit)
    {
        ArgumentNullException.ThrowIfNull(unit);
        if (unit.Count != parameters.Count) throw new ArgumentException($"Expected {parameters.Count} unit coordinates, got {unit.Count}.");
        return new ParameterSet(parameters.Select((p, i) => new KeyValuePair<string, object>(p.Name, p.FromUnit(unit[i]))));
    }

    /// <summary>Unit coordinates of <paramref name="point"/>, which must name every parameter of this space and no other.</summary>
    public double[] ToUnit(IReadOnlyDictionary<string, object> point)
    {
        var checkedPoint = Validate(point);
        return parameters.Select(p => p.ToUnit(checkedPoint[p.Name])).ToArray();
    }

    /// <summary>
    /// Checks <paramref name="values"/> against the space and returns them as a <see cref="ParameterSet"/> in the
    /// space's order with each value converted to its parameter's type. Unknown names and out-of-domain values throw
    /// <see cref="ArgumentException"/>; missing names take their default when <paramref name="fillDefaults"/> is true
    /// and throw otherwise.
    /// </summary>
    public ParameterSet Validate(IReadOnlyDictionary<string, object> values, bool fillDefaults = false)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var name in values.Keys)
            if (!index.ContainsKey(name)) throw new ArgumentException(Unknown(name).Message);
        return new ParameterSet(parameters.Select(p =>
        {
            if (values.TryGetValue(p.Name, out var v)) return new KeyValuePair<string, object>(p.Name, p.Normalize(v));
            if (fillDefaults) return new KeyValuePair<string, object>(p.Name, p.Default);
            throw new ArgumentException($"Parameter '{p.Name}' is missing; expected values for: {string.Join(", ", parameters.Select(q => q.Name))}.");
        }));
    }

    /// <summary>A point from the given values, taking defaults for the rest.</summary>
    public ParameterSet Create(IReadOnlyDictionary<string, object> values) => Validate(values, fillDefaults: true);

    /// <summary>JSON description, e.g. for an experiment's settings: <c>{"parameters":[{"name":..,"type":"float",..}]}</c>.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteStartArray("parameters");
            foreach (var p in parameters)
            {
                w.WriteStartObject();
                w.WriteString("name", p.Name);
                switch (p)
                {
                    case FloatParameter f:
                        w.WriteString("type", "float");
                        w.WritePropertyName("low"); ParameterSet.WriteValue(w, f.Low);
                        w.WritePropertyName("high"); ParameterSet.WriteValue(w, f.High);
                        w.WriteBoolean("log", f.Log);
                        break;
                    case IntParameter n:
                        w.WriteString("type", "int");
                        w.WriteNumber("low", n.Low);
                        w.WriteNumber("high", n.High);
                        w.WriteBoolean("log", n.Log);
                        break;
                    case ChoiceParameter c:
                        w.WriteString("type", "choice");
                        w.WriteStartArray("values");
                        foreach (var v in c.Values) ParameterSet.WriteValue(w, v);
                        w.WriteEndArray();
                        break;
                    default:
                        throw new NotSupportedException($"Parameter '{p.Name}' of type {p.GetType().Name} cannot be written as JSON.");
                }
                w.WritePropertyName("default"); ParameterSet.WriteValue(w, p.Default);
                w.WritePropertyName("lowCost"); ParameterSet.WriteValue(w, p.LowCost);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Reads a space written by <see cref="ToJson"/>.</summary>
    public static SearchSpace FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (!doc.RootElement.TryGetProperty("parameters", out var list) || list.ValueKind != JsonValueKind.Array)
                throw new FormatException("A search space JSON needs a \"parameters\" array.");
            var space = new SearchSpace();
            foreach (var e in list.EnumerateArray())
            {
                string name = e.GetProperty("name").GetString() ?? throw new FormatException("A parameter has a null name.");
                string type = e.GetProperty("type").GetString() ?? "";
                bool log = e.TryGetProperty("log", out var l) && l.GetBoolean();
                object? def = e.TryGetProperty("default", out var d) ? ParameterSet.ReadValue(d, name) : null;
                object? low = e.TryGetProperty("lowCost", out var lc) ? ParameterSet.ReadValue(lc, name) : null;
                space.Add(type switch
                {
                    "float" => new FloatParameter(name, e.GetProperty("low").GetDouble(), e.GetProperty("high").GetDouble(), log,
                        def is null ? null : Parameter.ToDouble(def, name), low is null ? null : Parameter.ToDouble(low, name)),
                    "int" => new IntParameter(name, e.GetProperty("low").GetInt32(), e.GetProperty("high").GetInt32(), log,
                        def is null ? null : (int)Parameter.ToDouble(def, name), low is null ? null : (int)Parameter.ToDouble(low, name)),
                    "choice" => new ChoiceParameter(name, e.GetProperty("values").EnumerateArray().Select(v => ParameterSet.ReadValue(v, name)).ToList(), def, low),
                    _ => throw new FormatException($"Parameter '{name}': unknown type '{type}' (expected float, int or choice)."),
                });
            }
            return space;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"Not a valid search space JSON: {e.Message}", e);
        }
    }

    public override string ToString() => string.Join("; ", parameters);

    private KeyNotFoundException Unknown(string name) =>
        new($"Unknown parameter '{name}'; the search space has: {(parameters.Count == 0 ? "(none)" : string.Join(", ", parameters.Select(p => p.Name)))}.");
}
