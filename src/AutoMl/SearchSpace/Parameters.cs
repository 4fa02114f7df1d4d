using System.Globalization;

namespace MlNetLlm.AutoMl;

/// <summary>
/// One tunable hyperparameter. Every parameter maps its values to and from the unit interval [0, 1], which is the
/// space tuners work in: floats linearly or logarithmically, integers by equal-width (or log-width) buckets, choices
/// by index buckets. Each parameter has a <see cref="Default"/> (the usual value) and a <see cref="LowCost"/> value
/// (the cheapest sensible value, where cost-frugal search starts).
/// </summary>
public abstract class Parameter
{
    protected Parameter(string name)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A parameter needs a non-empty name.", nameof(name));
        Name = name;
    }

    public string Name { get; }

    /// <summary>The usual value (double for floats, int for integers, the choice's value for choices).</summary>
    public abstract object Default { get; }

    /// <summary>The cheapest sensible value; cost-frugal optimization starts here.</summary>
    public abstract object LowCost { get; }

    /// <summary>Number of distinct values, or null for a continuous (float) parameter.</summary>
    public abstract long? Cardinality { get; }

    /// <summary>Position of <paramref name="value"/> in [0, 1]. Throws when the value is outside the parameter's domain.</summary>
    public abstract double ToUnit(object value);

    /// <summary>The value at position <paramref name="u"/> (clamped to [0, 1]).</summary>
    public abstract object FromUnit(double u);

    /// <summary>Converts a value of a compatible type (e.g. a long or a JSON number) to this parameter's type and
    /// checks it lies in the domain; throws <see cref="ArgumentException"/> otherwise.</summary>
    public abstract object Normalize(object value);

    /// <summary>A short description, e.g. <c>LearningRate: float log [1E-06, 0.001]</c>.</summary>
    public override string ToString() => $"{Name}: {Describe()}";

    protected abstract string Describe();

    protected static double Clamp01(double u) => double.IsNaN(u) ? 0.5 : Math.Clamp(u, 0.0, 1.0);

    internal static double ToDouble(object value, string name) => value switch
    {
        double d => d,
        float f => f,
        int i => i,
        long l => l,
        decimal m => (double)m,
        short s => s,
        byte b => b,
        string str when double.TryParse(str, NumberStyles.Float, CultureInfo.InvariantCulture, out var p) => p,
        _ => throw new ArgumentException($"Parameter '{name}': expected a number, got {Show(value)}."),
    };

    internal static string Show(object? value) => value switch
    {
        null => "null",
        string s => $"\"{s}\"",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        int or long or float or decimal or short or byte => ((IFormattable)value).ToString(null, CultureInfo.InvariantCulture),
        _ => $"{value} ({value.GetType().Name})",
    };
}

/// <summary>
/// A number on [Low, High] (inclusive), uniform or log-scaled, with a default and a low-cost start that must lie inside:
/// what <see cref="FloatParameter"/> and <see cref="IntParameter"/> share.
/// </summary>
public abstract class RangeParameter<T> : Parameter where T : struct, System.Numerics.INumber<T>
{
    private readonly string kind;

    private protected RangeParameter(string name, string kind, T low, T high, bool log) : base(name)
    {
        if (low > high) throw new ArgumentException($"Parameter '{name}': low ({Show(low)}) is greater than high ({Show(high)}).");
        (this.kind, Low, High, Log) = (kind, low, high, log);
    }

    public T Low { get; }
    public T High { get; }
    public bool Log { get; }
    public override object Default => DefaultValue;
    public override object LowCost => LowCostValue;
    private protected T DefaultValue { get; private set; }
    private protected T LowCostValue { get; private set; }

    /// <summary>The default (<paramref name="fallback"/> when not given) and the low-cost start (the default when not
    /// given); both are checked to lie inside.</summary>
    private protected void SetStarts(T? defaultValue, T? lowCost, T fallback)
    {
        DefaultValue = defaultValue ?? fallback;
        LowCostValue = lowCost ?? DefaultValue;
        CheckInside(DefaultValue, "default");
        CheckInside(LowCostValue, "low-cost value");
    }

    private protected abstract void CheckInside(T v, string what);

    protected override string Describe() => $"{kind}{(Log ? " log" : "")} [{Show(Low)}, {Show(High)}] default {Show(DefaultValue)} low-cost {Show(LowCostValue)}";
}

/// <summary>A real-valued parameter on [Low, High], uniform or log-uniform (Low &gt; 0 required for log).</summary>
public sealed class FloatParameter : RangeParameter<double>
{
    public FloatParameter(string name, double low, double high, bool log = false, double? defaultValue = null, double? lowCost = null)
        : base(name, "float", Finite(name, low, high), high, log)
    {
        if (log && low <= 0) throw new ArgumentException($"Parameter '{name}': a log-scaled parameter needs low > 0 (got {Show(low)}).");
        SetStarts(defaultValue, lowCost, log ? Math.Sqrt(low * high) : (low + high) / 2);
    }

    private static double Finite(string name, double low, double high) => double.IsFinite(low) && double.IsFinite(high) ? low
        : throw new ArgumentException($"Parameter '{name}': bounds must be finite numbers (got [{low}, {high}]).");

    public override long? Cardinality => Low == High ? 1 : null;

    public override double ToUnit(object value)
    {
        double v = (double)Normalize(value);
        if (High == Low) return 0.5;
        return Log ? (Math.Log(v) - Math.Log(Low)) / (Math.Log(High) - Math.Log(Low)) : (v - Low) / (High - Low);
    }

    public override object FromUnit(double u)
    {
        u = Clamp01(u);
        if (u == 0) return Low;
        if (u == 1) return High;
        double v = Log ? Math.Exp(Math.Log(Low) + u * (Math.Log(High) - Math.Log(Low))) : Low + u * (High - Low);
        return Math.Clamp(v, Low, High); // exp/log round-off must not step outside the bounds
    }

    public override object Normalize(object value)
    {
        double v = ToDouble(value, Name);
        CheckInside(v, "value");
        return v;
    }

    private protected override void CheckInside(double v, string what)
    {
        // A relative tolerance absorbs round-off from log/exp and JSON round trips.
        double tol = 1e-12 * Math.Max(Math.Abs(Low), Math.Abs(High));
        if (double.IsNaN(v) || v < Low - tol || v > High + tol)
            throw new ArgumentException($"Parameter '{Name}': {what} {Show(v)} is outside [{Show(Low)}, {Show(High)}].");
    }
}

/// <summary>
/// An integer parameter on [Low, High] (inclusive). Linear: each integer owns an equal slice of [0, 1]. Log (Low ≥ 1):
/// slices are equal in log space, so small values get as much attention as large ones.
/// </summary>
public sealed class IntParameter : RangeParameter<int>
{
    private readonly double logLo, logHi; // log-scale bucket edges: log(Low - 0.5), log(High + 0.5)

    public IntParameter(string name, int low, int high, bool log = false, int? defaultValue = null, int? lowCost = null)
        : base(name, "int", low, high, log)
    {
        if (log && low < 1) throw new ArgumentException($"Parameter '{name}': a log-scaled integer parameter needs low >= 1 (got {low}).");
        logLo = log ? Math.Log(low - 0.5) : 0;
        logHi = log ? Math.Log(high + 0.5) : 0;
        SetStarts(defaultValue, lowCost, log ? (int)Math.Round(Math.Sqrt((double)low * high)) : low + (high - low) / 2);
    }

    public override long? Cardinality => (long)High - Low + 1;

    public override double ToUnit(object value)
    {
        int v = (int)Normalize(value);
        return Log ? (Math.Log(v) - logLo) / (logHi - logLo) : (v - Low + 0.5) / ((double)High - Low + 1);
    }

    public override object FromUnit(double u)
    {
        u = Clamp01(u);
        double x = Log ? Math.Round(Math.Exp(logLo + u * (logHi - logLo)), MidpointRounding.AwayFromZero)
                       : Low + Math.Floor(u * ((double)High - Low + 1));
        return (int)Math.Clamp(x, Low, High);
    }

    public override object Normalize(object value)
    {
        double d = ToDouble(value, Name);
        if (d != Math.Floor(d)) throw new ArgumentException($"Parameter '{Name}': expected an integer, got {Show(value)}.");
        if (d < Low || d > High) throw new ArgumentException($"Parameter '{Name}': value {Show(value)} is outside [{Low}, {High}].");
        return (int)d;
    }

    private protected override void CheckInside(int v, string what)
    {
        if (v < Low || v > High) throw new ArgumentException($"Parameter '{Name}': {what} {v} is outside [{Low}, {High}].");
    }
}

/// <summary>
/// A categorical parameter: one of a list of values (strings, ints or doubles). In the unit space the i-th of n
/// values owns [i/n, (i+1)/n); list ordered values (e.g. batch sizes) in order so neighbouring buckets are similar.
/// </summary>
public sealed class ChoiceParameter : Parameter
{
    private readonly object[] values;
    private readonly int defaultIndex, lowCostIndex;

    public ChoiceParameter(string name, IEnumerable<object> values, object? defaultValue = null, object? lowCost = null)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(values);
        this.values = values.Select(v => CanonicalValue(v, name)).ToArray();
        if (this.values.Length == 0) throw new ArgumentException($"Parameter '{name}': a choice needs at least one value.");
        for (int i = 0; i < this.values.Length; i++)
            for (int j = 0; j < i; j++)
                if (SameValue(this.values[i], this.values[j]))
                    throw new ArgumentException($"Parameter '{name}': value {Show(this.values[i])} is listed twice.");
        defaultIndex = defaultValue is null ? 0 : IndexOfOrThrow(defaultValue, "default");
        lowCostIndex = lowCost is null ? defaultIndex : IndexOfOrThrow(lowCost, "low-cost value");
    }

    public ChoiceParameter(string name, params object[] values) : this(name, (IEnumerable<object>)values) { }

    public IReadOnlyList<object> Values => values;
    public override object Default => values[defaultIndex];
    public override object LowCost => values[lowCostIndex];
    public override long? Cardinality => values.Length;

    /// <summary>Index of <paramref name="value"/> among <see cref="Values"/> (numbers compare by value: 16 matches 16.0).</summary>
    public int IndexOf(object value) => IndexOfOrThrow(value, "value");

    public override double ToUnit(object value) => (IndexOf(value) + 0.5) / values.Length;

    public override object FromUnit(double u) => values[Math.Min(values.Length - 1, (int)Math.Floor(Clamp01(u) * values.Length))];

    public override object Normalize(object value) => values[IndexOf(value)];

    private int IndexOfOrThrow(object value, string what)
    {
        for (int i = 0; i < values.Length; i++)
            if (SameValue(values[i], value)) return i;
        throw new ArgumentException($"Parameter '{Name}': {what} {Show(value)} is not one of [{string.Join(", ", values.Select(Show))}].");
    }

    internal static object CanonicalValue(object? v, string name) => v switch
    {
        string s => s,
        int i => i,
        long l when l is >= int.MinValue and <= int.MaxValue => (int)l,
        short s => (int)s,
        byte b => (int)b,
        double d when double.IsFinite(d) => d,
        float f when float.IsFinite(f) => (double)f,
        decimal m => (double)m,
        bool b => b ? "true" : "false",
        _ => throw new ArgumentException($"Parameter '{name}': choice values must be strings or finite numbers, got {Show(v)}."),
    };

    private static bool SameValue(object a, object b)
    {
        if (a is string sa) return b is string sb && sa == sb;
        if (b is string) return false;
        try { return ToDouble(a, "") == ToDouble(b, ""); }
        catch (ArgumentException) { return false; }
    }

    protected override string Describe() => $"choice [{string.Join(", ", values.Select(Show))}] default {Show(Default)} low-cost {Show(LowCost)}";
}
