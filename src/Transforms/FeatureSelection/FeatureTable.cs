using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetLlm.Transforms.FeatureSelection;

/// <summary>One candidate column read into memory: numbers (NaN = missing) or text (empty = missing).</summary>
internal sealed class FeatureColumnData(string name, FeatureKind kind, float[]? numbers, string[]? texts)
{
    public string Name { get; } = name;
    public FeatureKind Kind { get; } = kind;
    public float[]? Numbers { get; } = numbers;
    public string[]? Texts { get; } = texts;

    private HashSet<string>[]? _tokens;

    /// <summary>The words of row <paramref name="r"/> of a text column, tokenised once.</summary>
    public HashSet<string> TokensAt(int r)
    {
        _tokens ??= new HashSet<string>[Texts!.Length];
        return _tokens[r] ??= DesignEncoder.Tokens(Texts![r]);
    }
}

/// <summary>
/// The training rows in memory for the data evidence: candidate columns and the label, as a class index per row
/// (binary: 1 = positive; multiclass) or a number (regression). Rows whose label is missing are left out (they carry
/// no evidence).
/// </summary>
internal sealed class FeatureTable
{
    public required List<FeatureColumnData> Columns { get; init; }
    public required TaskLabel Target { get; init; }
    public int RowCount => Target.RowCount;
    /// <summary>Binary labels only: true for the positive class.</summary>
    public bool[] Label => Target.Positive;

    /// <summary>True when ML.NET can read the column as a number (it is converted to Single).</summary>
    public static bool IsNumericType(DataViewType t) =>
        t == NumberDataViewType.Single || t == NumberDataViewType.Double || t == NumberDataViewType.SByte || t == NumberDataViewType.Byte ||
        t == NumberDataViewType.Int16 || t == NumberDataViewType.UInt16 || t == NumberDataViewType.Int32 || t == NumberDataViewType.UInt32 ||
        t == NumberDataViewType.Int64 || t == NumberDataViewType.UInt64 || t == BooleanDataViewType.Instance;

    public static FeatureTable Read(IDataView data, DataViewSchema.Column label, IReadOnlyList<(DataViewSchema.Column Column, FeatureKind Kind)> features,
        LabelKind kind, string? positiveLabel)
    {
        var needed = features.Select(f => f.Column).Append(label).DistinctBy(c => c.Index).ToList();
        var numbers = new List<float>[features.Count];
        var texts = new List<string>[features.Count];
        var rawLabels = new List<string>();
        using (var cursor = data.GetRowCursor(needed))
        {
            var labelGetter = LabelReader(cursor, label);
            var getters = features.Select((f, i) =>
            {
                if (f.Kind == FeatureKind.Numeric) { numbers[i] = []; return NumberReader(cursor, f.Column); }
                texts[i] = [];
                return TextReader(cursor, f.Column);
            }).ToArray();
            while (cursor.MoveNext())
            {
                string? y = labelGetter(cursor);
                if (y is null) continue; // missing label: no evidence in this row
                rawLabels.Add(y);
                for (int i = 0; i < features.Count; i++)
                {
                    object v = getters[i](cursor);
                    if (numbers[i] is { } n) n.Add((float)v);
                    else texts[i].Add((string)v);
                }
            }
        }
        return new FeatureTable
        {
            Columns = features.Select((f, i) => new FeatureColumnData(f.Column.Name, f.Kind, numbers[i]?.ToArray(), texts[i]?.ToArray())).ToList(),
            Target = TaskLabel.From(rawLabels, label.Name, label.Type is BooleanDataViewType, label.Type is KeyDataViewType, kind, positiveLabel),
        };
    }

    private static Func<DataViewRow, string?> LabelReader(DataViewRow row, DataViewSchema.Column c)
    {
        var t = c.Type;
        if (t is TextDataViewType)
        {
            var g = row.GetGetter<ReadOnlyMemory<char>>(c);
            return r => { ReadOnlyMemory<char> v = default; g(ref v); var s = v.ToString(); return s.Length == 0 ? null : s; };
        }
        if (t is KeyDataViewType kt)
        {
            if (kt.RawType != typeof(uint))
                throw new ArgumentException($"Label column '{c.Name}' is a key of {kt.RawType.Name}; use a UInt32 key, Boolean, number or text label.");
            var g = row.GetGetter<uint>(c);
            return r => { uint v = 0; g(ref v); return v == 0 ? null : v.ToString(System.Globalization.CultureInfo.InvariantCulture); };
        }
        if (IsNumericType(t))
        {
            var g = NumberReader(row, c);
            return r => { float v = (float)g(r); return float.IsNaN(v) ? null : v.ToString("R", System.Globalization.CultureInfo.InvariantCulture); };
        }
        throw new ArgumentException($"Label column '{c.Name}' has type {t}; a label must be Boolean, a number, a key or text.");
    }

    private static Func<DataViewRow, object> TextReader(DataViewRow row, DataViewSchema.Column c)
    {
        var g = row.GetGetter<ReadOnlyMemory<char>>(c);
        return r => { ReadOnlyMemory<char> v = default; g(ref v); return v.ToString(); };
    }

    private static Func<DataViewRow, object> NumberReader(DataViewRow row, DataViewSchema.Column c)
    {
        var t = c.Type;
        Func<DataViewRow, object> Make<T>(Func<T, float> conv)
        {
            var g = row.GetGetter<T>(c);
            return r => { T v = default!; g(ref v); return conv(v); };
        }
        if (t == NumberDataViewType.Single) return Make<float>(v => v);
        if (t == NumberDataViewType.Double) return Make<double>(v => (float)v);
        if (t == NumberDataViewType.SByte) return Make<sbyte>(v => v);
        if (t == NumberDataViewType.Byte) return Make<byte>(v => v);
        if (t == NumberDataViewType.Int16) return Make<short>(v => v);
        if (t == NumberDataViewType.UInt16) return Make<ushort>(v => v);
        if (t == NumberDataViewType.Int32) return Make<int>(v => v);
        if (t == NumberDataViewType.UInt32) return Make<uint>(v => v);
        if (t == NumberDataViewType.Int64) return Make<long>(v => v);
        if (t == NumberDataViewType.UInt64) return Make<ulong>(v => v);
        if (t == BooleanDataViewType.Instance) return Make<bool>(v => v ? 1f : 0f);
        throw new ArgumentException($"Column '{c.Name}' has type {t}, which is not numeric.");
    }

    /// <summary>Why a column cannot help (all missing, constant), or null. Checked on all training rows.</summary>
    public static string? Uselessness(FeatureColumnData c)
    {
        if (c.Numbers is { } x)
        {
            var present = x.Where(v => !float.IsNaN(v)).ToList();
            if (present.Count == 0) return "all values missing";
            if (present.Distinct().Count() == 1)
                return present.Count == x.Length ? "constant" : "constant apart from missing values (the mean fills them, so it carries nothing)";
            return null;
        }
        var t = c.Texts!;
        var levels = t.Where(v => v.Length > 0).Distinct(StringComparer.Ordinal).Take(2).Count();
        if (levels == 0) return "all values missing";
        if (levels == 1 && t.All(v => v.Length > 0)) return "constant";
        return null;
    }
}
