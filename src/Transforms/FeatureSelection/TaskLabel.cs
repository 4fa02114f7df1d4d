using System.Globalization;

namespace MlNetLlm.Transforms.FeatureSelection;

/// <summary>
/// The label of the training rows and what kind of task it makes: a class index per row (binary: 1 = positive;
/// multiclass: classes in sorted order) or a number (regression). Decides the kind when asked to (Auto) and refuses
/// labels that fit no kind with the reason.
/// </summary>
internal sealed class TaskLabel
{
    /// <summary>Auto: a number label with at most this many distinct integer values (and ≥ 2 rows per value on average) is multiclass.</summary>
    public const int MaxAutoNumericClasses = 10;

    public required LabelKind Kind { get; init; }
    public required string Name { get; init; }
    /// <summary>Class index per row (classification), empty for regression.</summary>
    public required int[] Class { get; init; }
    /// <summary>The value per row (regression), empty for classification.</summary>
    public required double[] Value { get; init; }
    public required string[] ClassNames { get; init; }
    /// <summary>One line for the log and the report.</summary>
    public required string Summary { get; init; }

    public int RowCount => Kind == LabelKind.Regression ? Value.Length : Class.Length;
    public int ClassCount => ClassNames.Length;

    private bool[]? _positive;
    /// <summary>Binary only: true for the positive class (index 1).</summary>
    public bool[] Positive => _positive ??= Kind == LabelKind.Binary ? Class.Select(c => c == 1).ToArray()
        : throw new InvalidOperationException("Positive is defined for binary labels only.");

    /// <summary>Discrete codes of the label on <paramref name="rows"/>: the class, or the equal-frequency bin of the value.</summary>
    public int[] Codes(int[] rows, int bins)
    {
        if (Kind != LabelKind.Regression) return rows.Select(r => Class[r]).ToArray();
        var sorted = rows.Select(r => Value[r]).Order().ToArray();
        var edges = Enumerable.Range(1, bins - 1).Select(i => sorted[(int)((long)i * sorted.Length / bins)]).Distinct().ToArray();
        return rows.Select(r => { int i = Array.BinarySearch(edges, Value[r]); return i >= 0 ? i : ~i; }).ToArray();
    }

    /// <param name="isKey">A key label holds class indices: classes, never a number to predict.</param>
    public static TaskLabel From(List<string> raw, string name, bool isBoolean, bool isKey, LabelKind requested, string? positiveLabel)
    {
        if (raw.Count == 0)
            throw new ArgumentException($"Label column '{name}' has no non-missing values: there is nothing to select features for.");
        var distinct = raw.Distinct(StringComparer.Ordinal).ToList();
        if (distinct.Count == 1)
            throw new ArgumentException($"Label column '{name}' has only one value ('{distinct[0]}') in the training data: a constant label leaves nothing to predict, so no column can be selected for it.");
        var numbers = ParseAll(raw);
        var kind = requested == LabelKind.Auto ? Decide(distinct.Count, raw.Count, isKey ? null : numbers, isBoolean) : requested;
        if (positiveLabel is not null && kind != LabelKind.Binary)
            throw new ArgumentException($"Options.PositiveLabel applies to binary labels; label '{name}' is {KindWord(kind)} ({distinct.Count} distinct values).");
        return kind switch
        {
            LabelKind.Binary => Binary(raw, distinct, name, positiveLabel),
            LabelKind.Multiclass => Multiclass(raw, distinct, name, numbers),
            _ => Regression(raw, name, numbers),
        };
    }

    private static LabelKind Decide(int distinct, int rows, double[]? numbers, bool isBoolean)
    {
        if (distinct == 2 || isBoolean) return LabelKind.Binary;
        if (numbers is not null)
            return numbers.All(v => v == Math.Round(v)) && distinct <= MaxAutoNumericClasses && rows >= 2 * distinct
                ? LabelKind.Multiclass : LabelKind.Regression;
        return LabelKind.Multiclass;
    }

    private static TaskLabel Binary(List<string> raw, List<string> distinct, string name, string? positiveLabel)
    {
        if (distinct.Count != 2)
            throw new ArgumentException($"Label column '{name}' is set to binary but has {distinct.Count} distinct values ({Sample(distinct)}).");
        var classes = distinct.Order(StringComparer.Ordinal).ToList();
        string positive = PositiveClass(classes, positiveLabel, name);
        string negative = classes.Single(c => c != positive);
        return new TaskLabel
        {
            Kind = LabelKind.Binary, Name = name, ClassNames = [negative, positive], Value = [],
            Class = raw.Select(v => v == positive ? 1 : 0).ToArray(),
            Summary = $"binary label, positive class '{positive}' of '{name}' ({raw.Count(v => v == positive)} of {raw.Count} rows)",
        };
    }

    private static TaskLabel Multiclass(List<string> raw, List<string> distinct, string name, double[]? numbers)
    {
        if (numbers is null && distinct.Count == raw.Count)
            throw new ArgumentException($"Label column '{name}' has a different value in every one of its {raw.Count} rows ({Sample(distinct)}): " +
                                        "that is an identifier or free text, not a class label (and not a number for regression).");
        // Number classes in numeric order (2 before 10), text classes in ordinal order: the same classes whatever the row order.
        var classes = numbers is null
            ? distinct.Order(StringComparer.Ordinal).ToList()
            : distinct.OrderBy(v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture)).ToList();
        var index = classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        var counts = classes.Select(c => raw.Count(v => v == c)).ToList();
        return new TaskLabel
        {
            Kind = LabelKind.Multiclass, Name = name, ClassNames = classes.ToArray(), Value = [],
            Class = raw.Select(v => index[v]).ToArray(),
            Summary = $"multiclass label '{name}', {classes.Count} classes ({string.Join(", ", classes.Take(8).Select((c, i) => $"{c} {counts[i]}"))}{(classes.Count > 8 ? ", ..." : "")}) in {raw.Count} rows",
        };
    }

    private static TaskLabel Regression(List<string> raw, string name, double[]? numbers)
    {
        if (numbers is null)
        {
            string bad = raw.First(v => !TryNumber(v, out _));
            throw new ArgumentException($"Label column '{name}' is set to regression but has the value '{bad}', which is not a finite number.");
        }
        double mean = numbers.Average(), sd = Math.Sqrt(numbers.Sum(v => (v - mean) * (v - mean)) / numbers.Length);
        return new TaskLabel
        {
            Kind = LabelKind.Regression, Name = name, ClassNames = [], Class = [], Value = numbers,
            Summary = $"regression label '{name}' (mean {mean.ToString("G4", CultureInfo.InvariantCulture)}, sd {sd.ToString("G4", CultureInfo.InvariantCulture)}, {raw.Count} rows)",
        };
    }

    private static string PositiveClass(List<string> classes, string? positiveLabel, string labelName)
    {
        if (positiveLabel is not null)
            return classes.Contains(positiveLabel)
                ? positiveLabel
                : throw new ArgumentException($"PositiveLabel '{positiveLabel}' is not a value of label column '{labelName}' (values: {string.Join(", ", classes)}).");
        // Which class is "positive" does not change the selection (AUC and mutual information are symmetric); this
        // only makes the summary read naturally.
        string[] positives = ["1", "true", "yes", "y", "pos", "positive", "malignant"];
        return classes.FirstOrDefault(c => positives.Contains(c.Trim().ToLowerInvariant())) ?? classes[1];
    }

    /// <summary>Every value as a finite number, or null when one is not.</summary>
    private static double[]? ParseAll(List<string> raw)
    {
        var x = new double[raw.Count];
        for (int i = 0; i < raw.Count; i++)
            if (!TryNumber(raw[i], out x[i])) return null;
        return x;
    }

    private static bool TryNumber(string s, out double v) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out v) && double.IsFinite(v);

    public static string KindWord(LabelKind k) => k switch
    {
        LabelKind.Binary => "binary",
        LabelKind.Multiclass => "multiclass",
        LabelKind.Regression => "regression",
        _ => "auto",
    };

    private static string Sample(List<string> values) =>
        string.Join(", ", values.Take(5).Select(v => $"'{v}'")) + (values.Count > 5 ? ", ..." : "");
}
