using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.Estimators.Jobs;

/// <summary>What <see cref="TextTrainingJob"/> trains. Errors name these properties (TextJobOptions.MaxClasses, ...);
/// a front end such as the CLI maps them to its own option names.</summary>
public sealed class TextJobOptions
{
    public required string Dataset { get; init; }
    /// <summary>Field separator of the data files; null reads commas and fails naming the likely separator when the header uses another.</summary>
    public char? Separator { get; init; }
    public required string LabelColumn { get; init; }
    public required IReadOnlyList<string> TextColumns { get; init; }
    public string? TestDataset { get; init; }
    /// <summary>A column whose value "test" marks test rows (other values: training rows), for data sets with a given split.</summary>
    public string? SplitColumn { get; init; }
    /// <summary>Used when no test file is given: a stratified (classification) or random (regression) hold-out.</summary>
    public double TestFraction { get; init; } = 0.2;
    /// <summary>lstm, transformer, tfidf, wordvec (ML.NET's ApplyWordEmbedding with GlovePath, averaged, + SDCA) or checkpoint:DIR.</summary>
    public string Encoder { get; init; } = "lstm";
    /// <summary>auto (numeric label with more than 10 values → regression; 2 classes → binary; else multiclass), multiclass, binary, regression.</summary>
    public string Task { get; init; } = "auto";
    /// <summary>Binary only: the class that becomes true (default: the second in ordinal order).</summary>
    public string? PositiveClass { get; init; }
    /// <summary>Keep only rows of the N most frequent classes (before splitting).</summary>
    public int? MaxClasses { get; init; }
    public string? GlovePath { get; init; }
    public int Seed { get; init; } = 1;
    /// <summary>Trainer options for the neural encoders (Encoder, CheckpointPath, columns are set by the job).</summary>
    public TextTrainerOptions Trainer { get; init; } = new();
}

/// <summary>Test-set metrics as metrics.json holds them.</summary>
public sealed record TextJobMetrics
{
    public required string Task { get; init; }
    public required string Encoder { get; init; }
    public double? Accuracy { get; init; }
    public double? MacroF1 { get; init; }
    public double? LogLoss { get; init; }
    public double? Auc { get; init; }
    public double? RSquared { get; init; }
    public double? Mae { get; init; }
    /// <summary>Test rows whose label never occurred in training (counted as wrong in <see cref="Accuracy"/>); null when none.</summary>
    public int? UnseenLabelRows { get; init; }
    public required double TrainSeconds { get; init; }
    public required int Rows { get; init; }
    public required int TestRows { get; init; }
    public string[]? Classes { get; init; }
    public IReadOnlyList<EpochReport>? Epochs { get; init; }
    /// <summary>The resolved precision the neural encoder trained and scored in ("fp32" or "bf16"); null for tfidf and wordvec.</summary>
    public string? Precision { get; init; }
}

/// <summary>
/// Reads a CSV, splits it, trains one encoder (or the TF-IDF baseline) through ML.NET pipelines, evaluates on the
/// test part and returns the model (input: the text columns) with its metrics. Shared by the CLI, the samples and the
/// benchmark so every comparison runs the same code.
/// </summary>
public static class TextTrainingJob
{
    public sealed record Result(ITransformer Model, DataViewSchema InputSchema, TextJobMetrics Metrics, IDataView ScoredTest);

    public static Result Run(MLContext ml, TextJobOptions o)
    {
        if (o.Encoder == "tfidf" && o.GlovePath is not null)
            throw new ArgumentException("TextJobOptions.GlovePath is read by the lstm and wordvec encoders, not TextJobOptions.Encoder tfidf.");
        var data = TextJobData.Load(o);
        var sw = Stopwatch.StartNew();
        var (model, epochs, precision) = Fit(ml, o, data);
        double trainSeconds = sw.Elapsed.TotalSeconds;
        var scored = model.Transform(data.TestView(ml));
        var metrics = Evaluate(ml, data, model) with
        {
            Encoder = o.Encoder, TrainSeconds = Math.Round(trainSeconds, 2), Rows = data.Train.Count, TestRows = data.Test.Count, Epochs = epochs, Precision = precision,
        };
        return new Result(model, data.InputView(ml, data.Train).Schema, metrics, scored);
    }

    private static (ITransformer, IReadOnlyList<EpochReport>?, string?) Fit(MLContext ml, TextJobOptions o, TextJobData d)
    {
        var train = d.TrainView(ml);
        string[] text = [.. o.TextColumns];
        if (o.Encoder is "tfidf" or "wordvec" && o.Trainer.Precision == Modeling.Runtime.Precision.Bf16)
            throw new ArgumentException($"TextTrainerOptions.Precision Bf16 applies to the neural encoders; TextJobOptions.Encoder {o.Encoder} trains ML.NET's own fp32 learners. Use Auto or Fp32.");
        if (o.Encoder == "tfidf")
        {
            var featurize = TfIdfFeatures(ml, text);
            IEstimator<ITransformer> pipeline = d.Task switch
            {
                TaskKind.Multiclass => featurize.Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy()),
                TaskKind.Binary => featurize.Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression()),
                _ => featurize.Append(ml.Regression.Trainers.Sdca()),
            };
            return (WithLabelNames(ml, d, pipeline.Fit(train), train), null, null);
        }

        if (o.Encoder == "wordvec")
            return (WithLabelNames(ml, d, WordVectorBaseline(ml, o, d, text).Fit(train), train), null, null);

        var t = o.Trainer;
        t.TextColumnName = text[0];
        t.SecondTextColumnName = text.Length > 1 ? text[1] : null;
        t.LabelColumnName = "Label";
        t.Seed = o.Seed;
        t.GlovePath = o.GlovePath;
        if (o.Encoder.StartsWith("checkpoint:", StringComparison.Ordinal))
        {
            t.Encoder = TextEncoderKind.Checkpoint;
            t.CheckpointPath = o.Encoder["checkpoint:".Length..];
        }
        else
        {
            t.Encoder = o.Encoder switch
            {
                "lstm" => TextEncoderKind.Lstm,
                "transformer" => TextEncoderKind.Transformer,
                _ => throw new ArgumentException($"TextJobOptions.Encoder '{o.Encoder}' is not one of lstm, transformer, tfidf, wordvec, checkpoint:DIR.", nameof(o.Encoder)),
            };
        }
        var estimator = d.Task switch
        {
            TaskKind.Multiclass => ml.MulticlassClassification.Trainers.TextClassifier(t),
            TaskKind.Binary => ml.BinaryClassification.Trainers.TextClassifier(t),
            _ => ml.Regression.Trainers.TextRegressor(t),
        };
        var fitted = estimator.Fit(train);
        return (WithLabelNames(ml, d, fitted, train), fitted.Training?.Epochs, fitted.Precision.Name);
    }

    /// <summary>
    /// The classical ML.NET text features: one FeaturizeText per text column, concatenated into "Features", cached
    /// (SDCA and L-BFGS pass over the data many times; re-featurizing each pass made SDCA ten times slower).
    /// </summary>
    public static IEstimator<ITransformer> TfIdfFeatures(MLContext ml, IReadOnlyList<string> textColumns)
    {
        IEstimator<ITransformer> featurize = textColumns.Count == 1
            ? ml.Transforms.Text.FeaturizeText("Features", textColumns[0])
            : ml.Transforms.Text.FeaturizeText("Features0", textColumns[0])
                .Append(ml.Transforms.Text.FeaturizeText("Features1", textColumns[1]))
                .Append(ml.Transforms.Concatenate("Features", "Features0", "Features1"));
        return featurize.AppendCacheCheckpoint(ml);
    }

    /// <summary>
    /// ML.NET's own word-vector baseline, no new code: normalise, split into words, average the GloVe vectors of the words
    /// (ApplyWordEmbedding gives min, mean and max), then the SDCA trainer of the task.
    /// </summary>
    private static IEstimator<ITransformer> WordVectorBaseline(MLContext ml, TextJobOptions o, TextJobData d, string[] text)
    {
        if (o.GlovePath is null) throw new ArgumentException("TextJobOptions.Encoder wordvec needs TextJobOptions.GlovePath (a GloVe text file).");
        if (text.Length != 1) throw new ArgumentException("TextJobOptions.Encoder wordvec takes one text column (TextJobOptions.TextColumns).");
        var pipeline = ml.Transforms.Text.NormalizeText("Normalized", text[0], keepDiacritics: false, keepPunctuations: false)
            .Append(ml.Transforms.Text.TokenizeIntoWords("Words", "Normalized"))
            .Append(ml.Transforms.Text.ApplyWordEmbedding("Features", PlainGloveFile(o.GlovePath), "Words"))
            // SDCA needs scaled features (unscaled min/mean/max vectors made multiclass SDCA diverge on the fortunes data).
            .Append(ml.Transforms.NormalizeMinMax("Features"))
            .AppendCacheCheckpoint(ml);
        return d.Task switch
        {
            TaskKind.Multiclass => pipeline.Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy()),
            TaskKind.Binary => pipeline.Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression()),
            _ => pipeline.Append(ml.Regression.Trainers.Sdca()),
        };
    }

    /// <summary>ApplyWordEmbedding reads plain text: a .gz GloVe file is expanded once into the temp folder.</summary>
    private static string PlainGloveFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"GloVe file '{path}' does not exist.", path);
        if (!path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) return path;
        string target = Path.Combine(Path.GetTempPath(), $"mlnetllm-{Path.GetFileNameWithoutExtension(path)}-{new FileInfo(path).Length}");
        if (!File.Exists(target))
        {
            using var gz = new System.IO.Compression.GZipStream(File.OpenRead(path), System.IO.Compression.CompressionMode.Decompress);
            using var tmp = File.Create(target + ".part");
            gz.CopyTo(tmp);
            tmp.Close();
            File.Move(target + ".part", target, overwrite: true);
        }
        return target;
    }

    /// <summary>Appends the step that turns predictions back into class names, so the saved model speaks the data's labels.</summary>
    public static ITransformer WithLabelNames(MLContext ml, TextJobData d, ITransformer fitted, IDataView train)
    {
        IEstimator<ITransformer>? tail = d.Task switch
        {
            TaskKind.Multiclass => ml.Transforms.Conversion.MapKeyToValue("PredictedLabelValue", "PredictedLabel"),
            TaskKind.Binary => ml.Transforms.Conversion.MapValue("PredictedLabelValue",
                new[] { new KeyValuePair<bool, ReadOnlyMemory<char>>(false, d.Classes[0].AsMemory()), new(true, d.Classes[1].AsMemory()) }, "PredictedLabel"),
            _ => null,
        };
        if (tail is null) return fitted;
        var scored = fitted.Transform(train);
        return new TransformerChain<ITransformer>(fitted, tail.Fit(scored));
    }

    /// <summary>
    /// Test metrics of <paramref name="model"/> on <paramref name="d"/>'s test rows. Rows whose label never occurred in
    /// training cannot be predicted right by any encoder: they count as wrong in the accuracy, are reported in
    /// <see cref="TextJobMetrics.UnseenLabelRows"/>, and the other metrics (macro-F1, log-loss, AUC) are those of the
    /// remaining rows.
    /// </summary>
    public static TextJobMetrics Evaluate(MLContext ml, TextJobData d, ITransformer model) => Evaluate(ml, d, ScoreTest(ml, d, model));

    /// <summary>The test rows whose label occurred in training (all rows for regression), scored by <paramref name="model"/>
    /// (lazily), and how many rows were left out for an unseen label.</summary>
    public static (IDataView Scored, int Unseen) ScoreTest(MLContext ml, TextJobData d, ITransformer model)
    {
        if (d.Task == TaskKind.Regression) return (model.Transform(d.TestView(ml)), 0);
        var known = d.Classes.ToHashSet(StringComparer.Ordinal);
        var seen = d.Test.Where(r => known.Contains(r.Label)).ToList();
        if (seen.Count == 0)
            throw new InvalidOperationException($"None of the {d.Test.Count} test rows has a label that occurred in training: there is nothing to evaluate.");
        return (model.Transform(d.InputView(ml, seen)), d.Test.Count - seen.Count);
    }

    /// <summary>Test metrics from <see cref="ScoreTest"/>'s rows; the unseen rows count as wrong in the accuracy.</summary>
    public static TextJobMetrics Evaluate(MLContext ml, TextJobData d, (IDataView Scored, int Unseen) test)
    {
        var m = Evaluate(ml, d, test.Scored);
        return test.Unseen == 0 ? m : m with { Accuracy = m.Accuracy * (d.Test.Count - test.Unseen) / d.Test.Count, UnseenLabelRows = test.Unseen };
    }

    /// <summary>Metrics of already-scored rows (all of whose labels occurred in training).</summary>
    public static TextJobMetrics Evaluate(MLContext ml, TextJobData d, IDataView scored)
    {
        switch (d.Task)
        {
            case TaskKind.Multiclass:
            {
                var m = ml.MulticlassClassification.Evaluate(scored);
                return new TextJobMetrics
                {
                    Task = "multiclass", Encoder = "", Accuracy = m.MicroAccuracy, MacroF1 = MacroF1(m.ConfusionMatrix), LogLoss = m.LogLoss,
                    TrainSeconds = 0, Rows = 0, TestRows = 0, Classes = d.Classes,
                };
            }
            case TaskKind.Binary:
            {
                var m = ml.BinaryClassification.Evaluate(scored);
                return new TextJobMetrics
                {
                    Task = "binary", Encoder = "", Accuracy = m.Accuracy, MacroF1 = MacroF1(m.ConfusionMatrix), LogLoss = m.LogLoss, Auc = m.AreaUnderRocCurve,
                    TrainSeconds = 0, Rows = 0, TestRows = 0, Classes = d.Classes,
                };
            }
            default:
            {
                var m = ml.Regression.Evaluate(scored);
                return new TextJobMetrics { Task = "regression", Encoder = "", RSquared = m.RSquared, Mae = m.MeanAbsoluteError, TrainSeconds = 0, Rows = 0, TestRows = 0 };
            }
        }
    }

    /// <summary>Unweighted mean of per-class F1 (classes absent from both truth and prediction count as 0, as sklearn does with zero_division=0).</summary>
    public static double MacroF1(ConfusionMatrix cm)
    {
        int k = cm.NumberOfClasses;
        double sum = 0;
        for (int c = 0; c < k; c++)
        {
            double tp = cm.Counts[c][c];
            double fn = cm.Counts[c].Sum() - tp;
            double fp = Enumerable.Range(0, k).Sum(r => cm.Counts[r][c]) - tp;
            sum += tp == 0 ? 0 : 2 * tp / (2 * tp + fp + fn);
        }
        return sum / k;
    }
}

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

    private static TaskKind DecideTask(TextJobOptions o, List<string> labels) => o.Task switch
    {
        "multiclass" => TaskKind.Multiclass,
        "binary" => TaskKind.Binary,
        "regression" => TaskKind.Regression,
        "auto" => labels.All(l => float.TryParse(l, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _)) && labels.Distinct().Count() > 10
            ? TaskKind.Regression
            : labels.Distinct().Count() == 2 ? TaskKind.Binary : TaskKind.Multiclass,
        _ => throw new ArgumentException($"TextJobOptions.Task '{o.Task}' is not one of auto, multiclass, binary, regression."),
    };

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
