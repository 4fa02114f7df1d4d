using Microsoft.ML;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.Estimators.Jobs;

/// <summary>A labelled text table split into train and test, with the task and class names decided.</summary>
public sealed class TextJobData
{
    public required TaskKind Task { get; init; }
    public required string[] Classes { get; init; }
    public required string[] TextColumns { get; init; }
    public required List<(string[] Texts, string Label)> Train { get; init; }
    public required List<(string[] Texts, string Label)> Test { get; init; }

    public static TextJobData Load(TextJobOptions o)
    {
        if (o.TextColumns.Count is < 1 or > 2) throw new ArgumentException("TextJobOptions.TextColumns must name one or two columns.", nameof(o.TextColumns));
        CheckColumns(o.LabelColumn, o.TextColumns, o.SplitColumn, "TextJobOptions");
        var rows = Read(o.Dataset, o, out var isTest);
        var test = o.TestDataset is null ? null : Read(o.TestDataset, o, out _);
        if (o.SplitColumn is not null)
        {
            if (test is not null) throw new ArgumentException("Give either TextJobOptions.TestDataset or TextJobOptions.SplitColumn, not both.");
            test = rows.Where((_, i) => isTest[i]).ToList();
            rows = rows.Where((_, i) => !isTest[i]).ToList();
            if (test.Count == 0 || rows.Count == 0)
                throw new ArgumentException($"TextJobOptions.SplitColumn '{o.SplitColumn}' must mark some rows \"test\" and leave others for training.");
        }
        if (o.MaxClasses is < 1)
            throw new ArgumentException($"TextJobOptions.MaxClasses must be at least 1 (got {o.MaxClasses}).");
        if (o.MaxClasses is not null && o.Task == TaskKind.Regression)
            throw new ArgumentException("TextJobOptions.MaxClasses keeps the most frequent classes of a classification task: it cannot apply to regression.");
        if (o.TestDataset is null && o.SplitColumn is null && o.TestFraction is <= 0 or >= 1)
            throw new ArgumentException($"TextJobOptions.TestFraction must be between 0 and 1 (got {o.TestFraction}).");
        if (o.MaxClasses is { } n)
        {
            var keep = rows.GroupBy(r => r.Label).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Take(n).Select(g => g.Key).ToHashSet();
            rows = rows.Where(r => keep.Contains(r.Label)).ToList();
            test = test?.Where(r => keep.Contains(r.Label)).ToList();
        }
        if (rows.Count == 0)
            throw new ArgumentException($"'{o.Dataset}' has no training rows with a label in '{o.LabelColumn}' (a header only, or every label empty).");
        var labels = rows.Select(r => r.Label).ToList();
        var task = DecideTask(o, labels);
        if (task != TaskKind.Regression && labels.Distinct().Count() < 2)
            throw new ArgumentException($"Label column '{o.LabelColumn}' of '{o.Dataset}' has only one class ('{labels[0]}') in the training rows: a classifier needs at least two.");
        if (task == TaskKind.Regression && rows.Concat(test ?? []).Select(r => r.Label).FirstOrDefault(l => l.Length > 0 && !(float.TryParse(l, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out float v) && float.IsFinite(v))) is { } bad)
            throw new ArgumentException($"Regression needs a finite numeric label, but column '{o.LabelColumn}' of '{o.Dataset}' holds '{bad}'.");
        var classes = task == TaskKind.Regression ? [] : labels.Distinct().Order(StringComparer.Ordinal).ToArray();
        if (o.PositiveClass is not null && task != TaskKind.Binary)
            throw new ArgumentException($"TextJobOptions.PositiveClass applies to binary tasks; '{o.LabelColumn}' of '{o.Dataset}' is {task.ToString().ToLowerInvariant()} ({(task == TaskKind.Regression ? "numbers" : $"{classes.Length} classes")}).");
        if (task == TaskKind.Binary)
        {
            if (classes.Length != 2) throw new ArgumentException($"TextJobOptions.Task binary needs exactly 2 classes in '{o.LabelColumn}', found {classes.Length}.");
            if (o.PositiveClass is { } p)
            {
                if (!classes.Contains(p)) throw new ArgumentException($"TextJobOptions.PositiveClass '{p}' is not a value of '{o.LabelColumn}' ({string.Join(", ", classes)}).");
                classes = [classes.Single(c => c != p), p];
            }
        }
        if (test is null)
            (rows, test) = Split(rows, o.TestFraction, o.Seed, stratify: task != TaskKind.Regression);
        if (rows.Count == 0 || test.Count == 0)
            throw new ArgumentException($"TextJobOptions.TestFraction {o.TestFraction} leaves {rows.Count} training and {test.Count} test rows of '{o.Dataset}': both need at least one.");
        return new TextJobData { Task = task, Classes = classes, TextColumns = [.. o.TextColumns], Train = rows, Test = test };
    }

    /// <summary>The column name the job's models read the label from (<see cref="InputView"/>).</summary>
    public const string LabelColumnName = "Label";

    /// <summary>
    /// Refuses a text column that is the label (the model would read its own answer, and score perfectly), a text
    /// column named <see cref="LabelColumnName"/> (the label takes that name inside the job, so it would be read as the
    /// text), and a split column that is the label. <paramref name="owner"/> names the options in the messages.
    /// </summary>
    public static void CheckColumns(string label, IReadOnlyList<string> textColumns, string? splitColumn, string owner)
    {
        foreach (var c in textColumns)
        {
            if (c == label)
                throw new ArgumentException($"{owner}.TextColumns names '{c}', which is the label column ({owner}.LabelColumn): the model would read the answer it is asked to predict.");
            if (c == LabelColumnName)
                throw new ArgumentException($"{owner}.TextColumns names '{c}': the label is read from a column of that name, so the model would read the label as its text. Rename the text column in the data.");
        }
        if (splitColumn is not null && splitColumn == label)
            throw new ArgumentException($"{owner}.SplitColumn '{splitColumn}' is the label column ({owner}.LabelColumn): give the column that marks test rows.");
    }

    private static List<(string[] Texts, string Label)> Read(string path, TextJobOptions o, out bool[] isTest)
    {
        var table = CsvTable.Load(path, o.Separator);
        int label = table.ColumnIndex(o.LabelColumn, "TextJobOptions.LabelColumn");
        int[] text = o.TextColumns.Select(c => table.ColumnIndex(c, "TextJobOptions.TextColumns")).ToArray();
        int split = o.SplitColumn is null ? -1 : table.ColumnIndex(o.SplitColumn, "TextJobOptions.SplitColumn");
        // Rows without a label cannot train or be scored against; empty texts are kept.
        var labelled = table.Rows.Where(r => r[label].Trim().Length > 0).ToList();
        isTest = labelled.Select(r => split >= 0 && r[split].Trim().Equals("test", StringComparison.OrdinalIgnoreCase)).ToArray();
        return labelled.Select(r => (text.Select(i => r[i]).ToArray(), r[label].Trim())).ToList();
    }

    private static TaskKind DecideTask(TextJobOptions o, List<string> labels) => o.Task
        ?? (labels.All(l => float.TryParse(l, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _)) && labels.Distinct().Count() > 10
            ? TaskKind.Regression
            : labels.Distinct().Count() == 2 ? TaskKind.Binary : TaskKind.Multiclass);

    /// <summary>Seeded hold-out; stratified per class so rare classes appear in both parts.</summary>
    private static (List<(string[] Texts, string Label)>, List<(string[] Texts, string Label)>) Split(List<(string[] Texts, string Label)> rows, double fraction, int seed, bool stratify)
    {
        if (fraction is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The test fraction must be between 0 and 1.");
        var rng = new Random(seed);
        var train = new List<(string[] Texts, string Label)>();
        var test = new List<(string[] Texts, string Label)>();
        var groups = stratify ? rows.GroupBy(r => r.Label).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => g.ToList()) : [rows.ToList()];
        foreach (var g in groups)
        {
            var arr = g.ToArray();
            rng.Shuffle(arr);
            int nTest = (int)Math.Round(arr.Length * fraction);
            test.AddRange(arr.Take(nTest));
            train.AddRange(arr.Skip(nTest));
        }
        return (train, test);
    }

    /// <summary>Input view: the text columns and the label as the data holds it (string; Single for regression).</summary>
    public IDataView InputView(MLContext ml, List<(string[] Texts, string Label)> rows)
    {
        var b = new InMemoryDataViewBuilder(rows.Count);
        for (int i = 0; i < TextColumns.Length; i++)
        {
            int col = i;
            b.AddText(TextColumns[i], rows.Select(r => r.Texts[col]).ToArray());
        }
        if (Task == TaskKind.Regression)
            b.AddFloat("Label", rows.Select(r => float.Parse(r.Label, System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        else if (Task == TaskKind.Binary)
            b.AddBool("Label", rows.Select(r => r.Label == Classes[1]).ToArray());
        else
            b.AddText("Label", rows.Select(r => r.Label).ToArray());
        var view = b.Build();
        // Multiclass labels become keys with the training classes as key values (unseen test labels become missing).
        return Task == TaskKind.Multiclass ? KeyMapping(ml).Transform(view) : view;
    }

    /// <summary>The same task and classes with other train/test rows (e.g. a validation split of the training part).</summary>
    public TextJobData WithRows(List<(string[] Texts, string Label)> train, List<(string[] Texts, string Label)> test) =>
        new() { Task = Task, Classes = Classes, TextColumns = TextColumns, Train = train, Test = test };

    /// <summary>Splits the training rows into (fit, validation), stratified for classification, seeded.</summary>
    public (List<(string[] Texts, string Label)> Fit, List<(string[] Texts, string Label)> Validation) SplitTrain(double validationFraction, int seed)
    {
        var (fit, validation) = Split(Train, validationFraction, seed, stratify: Task != TaskKind.Regression);
        return (fit, validation);
    }

    private ITransformer? _keyMapping;
    private ITransformer KeyMapping(MLContext ml) => _keyMapping ??= ml.Transforms.Conversion.MapValueToKey("Label", keyData: ml.Data.LoadFromEnumerable(Classes.Select(c => new KeyRow { Label = c })))
        .Fit(ml.Data.LoadFromEnumerable(Classes.Select(c => new KeyRow { Label = c })));

    private sealed class KeyRow { public string Label { get; set; } = ""; }

    public IDataView TrainView(MLContext ml) => InputView(ml, Train);
    public IDataView TestView(MLContext ml) => InputView(ml, Test);
}
