using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MlNetLlm.AutoMl;

/// <summary>
/// The hyperparameters of one trial: an immutable, ordered name → value map whose values are <see cref="double"/>,
/// <see cref="int"/> or <see cref="string"/>. Two sets are equal when they hold the same names and values
/// (regardless of order). Serializes to and from a flat JSON object.
/// </summary>
public sealed class ParameterSet : IReadOnlyDictionary<string, object>, IEquatable<ParameterSet>
{
    private readonly List<KeyValuePair<string, object>> items;
    private readonly Dictionary<string, object> map;
    private string? key;

    public ParameterSet(IEnumerable<KeyValuePair<string, object>> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        items = [];
        map = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (name, value) in values)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("A parameter name must not be empty.");
            object v = value switch
            {
                string or int => value,
                double d when double.IsFinite(d) => d,
                float f when float.IsFinite(f) => (double)f,
                long l when l is >= int.MinValue and <= int.MaxValue => (int)l,
                short s => (int)s,
                byte b => (int)b,
                decimal m => (double)m,
                _ => throw new ArgumentException($"Parameter '{name}': values must be strings, ints or finite doubles, got {Parameter.Show(value)}."),
            };
            if (!map.TryAdd(name, v)) throw new ArgumentException($"Parameter '{name}' is given twice.");
            items.Add(new(name, v));
        }
    }

    public static ParameterSet Empty { get; } = new([]);

    public object this[string key] => map.TryGetValue(key, out var v) ? v : throw Unknown(key);
    public IEnumerable<string> Keys => items.Select(i => i.Key);
    public IEnumerable<object> Values => items.Select(i => i.Value);
    public int Count => items.Count;
    public bool ContainsKey(string key) => map.ContainsKey(key);
    public bool TryGetValue(string key, out object value) => map.TryGetValue(key, out value!);
    public IEnumerator<KeyValuePair<string, object>> GetEnumerator() => items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The value as a double (ints widen).</summary>
    public double GetDouble(string name) => this[name] switch
    {
        double d => d,
        int i => i,
        var v => throw new InvalidCastException($"Parameter '{name}' is {Parameter.Show(v)}, not a number."),
    };

    /// <summary>The value as an int (an integral double such as 16.0 is accepted).</summary>
    public int GetInt(string name) => this[name] switch
    {
        int i => i,
        double d when d == Math.Floor(d) && d >= int.MinValue && d <= int.MaxValue => (int)d,
        var v => throw new InvalidCastException($"Parameter '{name}' is {Parameter.Show(v)}, not an integer."),
    };

    /// <summary>The value as a string (numbers are formatted invariantly).</summary>
    public string GetString(string name) => this[name] switch
    {
        string s => s,
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        int i => i.ToString(CultureInfo.InvariantCulture),
        var v => v.ToString()!,
    };

    /// <summary>A copy with <paramref name="name"/> set to <paramref name="value"/> (added at the end when new).</summary>
    public ParameterSet With(string name, object value)
    {
        var list = items.ToList();
        int i = list.FindIndex(p => p.Key == name);
        if (i >= 0) list[i] = new(name, value); else list.Add(new(name, value));
        return new ParameterSet(list);
    }

    /// <summary>A flat JSON object, e.g. <c>{"LearningRate":2E-05,"BatchSize":32,"Optimizer":"adamw"}</c>. Doubles
    /// always carry a decimal point or exponent so they read back as doubles.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            foreach (var (name, value) in items)
            {
                w.WritePropertyName(name);
                WriteValue(w, value);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    internal static void WriteValue(Utf8JsonWriter w, object value)
    {
        switch (value)
        {
            case string s: w.WriteStringValue(s); break;
            case int i: w.WriteNumberValue(i); break;
            case double d: w.WriteRawValue(FormatDouble(d)); break;
            default: throw new ArgumentException($"Cannot write {Parameter.Show(value)} as a parameter value.");
        }
    }

    internal static string FormatDouble(double d)
    {
        string s = d.ToString("R", CultureInfo.InvariantCulture);
        return s.IndexOfAny(['.', 'E', 'e']) >= 0 ? s : s + ".0";
    }

    /// <summary>Reads a flat JSON object written by <see cref="ToJson"/> (numbers with a decimal point or exponent
    /// become doubles, others ints; strings stay strings).</summary>
    public static ParameterSet FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new FormatException($"Parameters are not valid JSON: {e.Message}", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new FormatException($"Parameters must be a JSON object, got {doc.RootElement.ValueKind}.");
            return new ParameterSet(doc.RootElement.EnumerateObject().Select(p => new KeyValuePair<string, object>(p.Name, ReadValue(p.Value, p.Name))).ToList());
        }
    }

    internal static object ReadValue(JsonElement e, string name)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String: return e.GetString()!;
            case JsonValueKind.Number:
                string raw = e.GetRawText();
                if (raw.IndexOfAny(['.', 'E', 'e']) < 0 && e.TryGetInt32(out int i)) return i;
                return e.GetDouble();
            case JsonValueKind.True: return "true";
            case JsonValueKind.False: return "false";
            default: throw new FormatException($"Parameter '{name}': unsupported JSON value {e.GetRawText()}.");
        }
    }

    /// <summary>A canonical text for equality and hashing: names sorted ordinally, values formatted exactly.</summary>
    public string Key => key ??= string.Join("\u001f", items.OrderBy(i => i.Key, StringComparer.Ordinal).Select(i => i.Key + "=" + i.Value switch
    {
        double d => "d" + d.ToString("R", CultureInfo.InvariantCulture),
        int n => "d" + ((double)n).ToString("R", CultureInfo.InvariantCulture), // 16 and 16.0 are the same setting
        var v => "s" + v,
    }));

    public bool Equals(ParameterSet? other) => other is not null && Key == other.Key;
    public override bool Equals(object? obj) => obj is ParameterSet p && Equals(p);
    public override int GetHashCode() => Key.GetHashCode(StringComparison.Ordinal);

    /// <summary>Readable form, e.g. <c>LearningRate=2E-05, BatchSize=32</c>.</summary>
    public override string ToString() => string.Join(", ", items.Select(i => $"{i.Key}={(i.Value is double d ? d.ToString("G4", CultureInfo.InvariantCulture) : i.Value)}"));

    private KeyNotFoundException Unknown(string name) =>
        new($"Unknown parameter '{name}'; this set has: {(items.Count == 0 ? "(none)" : string.Join(", ", items.Select(i => i.Key)))}.");
}
