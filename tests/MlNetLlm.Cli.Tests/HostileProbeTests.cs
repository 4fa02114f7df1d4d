using System.Diagnostics;
using Microsoft.ML;
using MlNetLlm.AutoMl.Experiments;
using MlNetLlm.Cli.Commands;
using MlNetLlm.Estimators;
using MlNetLlm.Models;
using MlNetLlm.Modeling.Training;
using MlNetLlm.Transforms.FeatureSelection;

namespace MlNetLlm.Cli.Tests;

/// <summary>
/// The faults a second hostile probe of the CLI found (issue 22): outputs moved before a command was known valid,
/// options silently ignored or silently wrong, messages naming the wrong thing, concurrent runs and killed imports.
/// Every refused command leaves its inputs and any earlier outputs byte for byte as they were.
/// </summary>
[Collection("console")]
public class HostileProbeTests
{
    private static (int Code, string Output) Run(params string[] args) => BadInputTests.Run(args);

    private static string TopicsCsv(string path, int n = 90)
    {
        TextData.WriteCsv(path, TextData.Topics3(n, seed: 45));
        return path;
    }

    /// <summary>Every file under <paramref name="folder"/> with its bytes (the empty lock file of a run's folder, which
    /// .NET cannot open while a run holds it, as its name only).</summary>
    private static Dictionary<string, byte[]> Snapshot(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(folder, f),
            f => Path.GetFileName(f) == ExperimentOutputs.LockFile ? [] : File.ReadAllBytes(f));

    private static void AssertUnchanged(Dictionary<string, byte[]> before, string folder, string what)
    {
        var after = Snapshot(folder);
        Assert.True(before.Keys.Order().SequenceEqual(after.Keys.Order()), $"{what}: files before [{string.Join(", ", before.Keys.Order())}], after [{string.Join(", ", after.Keys.Order())}]");
        foreach (var (file, bytes) in before) Assert.True(bytes.AsSpan().SequenceEqual(after[file]), $"{what}: {file} changed");
    }

    private static void AssertRefused((int Code, string Output) run, params string[] named)
    {
        Assert.True(run.Code == 1, $"exit {run.Code}: {run.Output}");
        // A child process's console is 80 columns wide (Spectre wraps, even into paths): compared without whitespace.
        static string Squeezed(string s) => string.Concat(s.Where(c => !char.IsWhiteSpace(c)));
        foreach (var n in named) Assert.True(Squeezed(run.Output).Contains(Squeezed(n)), $"'{n}' not in: {run.Output}");
        Assert.DoesNotContain("   at ", run.Output); // no stack trace
        Assert.DoesNotContain("(Parameter '", run.Output);
    }

    private static string[] Classification(string csv, string output, params string[] more) =>
        ["classification", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--candidates", "tfidf+sdca", "--max-trials", "1", "--output", output, .. more];

    [Fact]
    public void Running_again_moves_aside_only_the_earlier_experiments_outputs_never_its_data_or_other_files()
    {
        using var dir = new Fixtures.TempDir();
        string output = dir.File("inside");
        Directory.CreateDirectory(output);
        string csv = TopicsCsv(Path.Combine(output, "mydata.csv"));
        File.WriteAllText(Path.Combine(output, "notes.txt"), "my own file");
        var run = Run(Classification(csv, output));
        Assert.True(run.Code == 0, run.Output);
        var inputs = new[] { "mydata.csv", "notes.txt" }.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(output, f)));
        var firstOutputs = ExperimentOutputs.Files.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(output, f)));

        run = Run(Classification(csv, output));
        Assert.True(run.Code == 0, run.Output);
        foreach (var (f, bytes) in inputs) Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(output, f)));
        string aside = Assert.Single(Directory.GetDirectories(output, "previous-*"));
        Assert.Contains(Path.GetFileName(aside), run.Output);
        foreach (var (f, bytes) in firstOutputs) Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(aside, f)));
        Assert.True(File.Exists(Path.Combine(aside, "experiment.db")));
        Assert.True(Directory.Exists(Path.Combine(aside, "trial-models")));
        Assert.False(File.Exists(Path.Combine(aside, "mydata.csv")));
        Assert.False(File.Exists(Path.Combine(aside, "notes.txt")));

        // Data under a name the experiment writes there would be moved aside or overwritten: refused, nothing moved.
        string named = Path.Combine(output, "trials.csv");
        File.Copy(csv, named, overwrite: true);
        var before = Snapshot(output);
        AssertRefused(Run(Classification(named, output)), "--dataset", "trials.csv", "the experiment writes");
        AssertUnchanged(before, output, "data named trials.csv");
    }

    [Fact]
    public void Train_and_select_features_never_write_over_their_data()
    {
        using var dir = new Fixtures.TempDir();
        string output = dir.File("out");
        Directory.CreateDirectory(output);
        foreach (var (name, args) in new (string, Func<string, string[]>)[]
        {
            ("metrics.json", csv => ["train", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--encoder", "tfidf", "--output", output]),
            ("selection.csv", csv => ["select-features", "--dataset", csv, "--label-col", "label", "--mode", "data", "--no-cache", "--output", output]),
        })
        {
            string csv = TopicsCsv(Path.Combine(output, name), 30);
            var before = Snapshot(output);
            AssertRefused(Run(args(csv)), "--output", "--dataset", name);
            AssertUnchanged(before, output, name);
        }
        string file = dir.File("a-file");
        File.WriteAllText(file, "x");
        AssertRefused(Run("select-features", "--dataset", Path.Combine(output, "metrics.json"), "--label-col", "label", "--mode", "data", "--no-cache", "--output", file), "is a file");
    }

    [Fact]
    public void A_refused_experiment_command_changes_nothing_in_the_earlier_output_folder()
    {
        using var dir = new Fixtures.TempDir();
        string csv = TopicsCsv(dir.File("topics.csv")), output = dir.File("prev"), glove = dir.File("glove.txt");
        File.WriteAllLines(glove, ["sports 0.1 0.2", "food 0.3 0.4"]);
        var good = Run(Classification(csv, output));
        Assert.True(good.Code == 0, good.Output);
        var before = Snapshot(output);
        byte[] csvBytes = File.ReadAllBytes(csv);

        foreach (var (args, named) in new (string[] Args, string[] Named)[]
        {
            (["classification", "--dataset", csv, "--label-col", "label", "--text-col", "nosuchcol", "--output", output], ["--text-col", "'nosuchcol'"]),
            (Classification(csv, output, "--tuner", "bogus"), ["--tuner", "'bogus'"]),
            (["classification", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--max-trials", "0", "--output", output], ["--max-trials", "--resume"]),
            (["classification", "--dataset", csv, "--label-col", "label", "--text-col", "label", "--output", output], ["--text-col", "'label'", "label column", "--label-col"]),
            (Classification(csv, output, "--glove", dir.File("no-such-glove.txt")), ["--glove", "no-such-glove.txt", "does not exist"]),
            (Classification(csv, output, "--glove", glove), ["--glove", "lstm+glove"]), // no candidate of this run reads it
            (Classification(csv, output, "--train-time", "0"), ["--train-time"]),
            (Classification(csv, output, "--candidates", "fine-tune", "--checkpoint", dir.File("no-such-checkpoint")), ["--checkpoint", "no-such-checkpoint"]),
        })
        {
            AssertRefused(Run(args), named);
            AssertUnchanged(before, output, string.Join(' ', args.Skip(7)));
            Assert.Empty(Directory.GetDirectories(output, "previous-*"));
        }
        Assert.Equal(csvBytes, File.ReadAllBytes(csv));
    }

    [Fact]
    public void A_bad_tuner_writes_no_store_so_the_corrected_command_resumes()
    {
        using var dir = new Fixtures.TempDir();
        string csv = TopicsCsv(dir.File("topics.csv")), output = dir.File("out");
        AssertRefused(Run(Classification(csv, output, "--tuner", "bogus")), "--tuner 'bogus'");
        Assert.False(Directory.Exists(output)); // no folder, no experiment.db recording "bogus"
        var run = Run(Classification(csv, output, "--resume"));
        Assert.True(run.Code == 0, run.Output);
    }

    [Fact]
    public async Task A_second_run_on_a_busy_output_folder_is_refused_and_changes_nothing()
    {
        using var dir = new Fixtures.TempDir();
        string csv = TopicsCsv(dir.File("topics.csv")), output = dir.File("out");
        var good = Run(Classification(csv, output));
        Assert.True(good.Code == 0, good.Output);
        var before = Snapshot(output);

        // Deterministic: the folder is held (as a running experiment holds it) while a second run starts.
        using (ExperimentOutputs.LockFolder(output, shared: false))
        {
            AssertRefused(TestProcesses.RunCli(Classification(csv, output)), "in use by another experiment run", "--join");
            AssertRefused(TestProcesses.RunCli(Classification(csv, output, "--join")), "in use by another experiment run");
            AssertUnchanged(before, output, "while the folder was held");
        }

        // Two real runs: the first runs until stopped; the second, started while it runs, is refused at once.
        var first = TestProcesses.StartCli(["classification", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--candidates", "lstm", "--checkpoint", "none",
            "--train-time", "300", "--output", dir.File("busy")], defaultSignals: true);
        try
        {
            var started = new TaskCompletionSource();
            var lines = new System.Text.StringBuilder();
            var reader = Task.Run(() =>
            {
                for (string? line; (line = first.StandardOutput.ReadLine()) is not null;)
                {
                    lock (lines) lines.AppendLine(line);
                    if (line.Contains("trial 1 ")) started.TrySetResult();
                }
            });
            Assert.True(await Task.WhenAny(started.Task, Task.Delay(TimeSpan.FromSeconds(120))) == started.Task, $"the first run started no trial: {lines}");
            AssertRefused(TestProcesses.RunCli(Classification(csv, dir.File("busy"))), "in use by another experiment run");
            Assert.False(first.HasExited, "the first run must still be running for this to test anything");
        }
        finally
        {
            if (!first.HasExited) first.Kill(entireProcessTree: true);
            first.WaitForExit();
        }
    }

    [Fact]
    public void A_text_column_that_is_the_label_is_refused_before_training_everywhere()
    {
        using var dir = new Fixtures.TempDir();
        string csv = TopicsCsv(dir.File("topics.csv"));
        AssertRefused(Run("train", "--dataset", csv, "--label-col", "label", "--text-col", "label", "--encoder", "tfidf", "--output", dir.File("o1")),
            "--text-col", "'label'", "label column");
        Assert.False(Directory.Exists(dir.File("o1")));

        // A text column named "Label" would be read as the label too (the job's models read the label from "Label").
        string renamed = dir.File("renamed.csv");
        File.WriteAllLines(renamed, ["Label,topic", .. File.ReadAllLines(csv).Skip(1)]);
        AssertRefused(Run("train", "--dataset", renamed, "--label-col", "topic", "--text-col", "Label", "--output", dir.File("o2")), "--text-col", "'Label'");

        // The library: the trainer, the experiment and the feature selection, each naming its own options.
        var e = Assert.Throws<ArgumentException>(() => new MLContext().MulticlassClassification.Trainers.TextClassifier(
            new TextTrainerOptions { Encoder = TextEncoderKind.Lstm, TextColumnName = "Label", LabelColumnName = "Label" }));
        Assert.Contains("TextTrainerOptions.TextColumnName 'Label' is the label column", e.Message);
        e = Assert.Throws<ArgumentException>(() => TextExperiment.Run(new MLContext(1),
            new ExperimentOptions { Data = new() { Dataset = csv, LabelColumn = "label", TextColumns = ["text", "label"] }, MaxTrials = 1 }, dir.File("o3")));
        Assert.Contains("TextJobOptions.TextColumns names 'label', which is the label column", e.Message);
        Assert.False(Directory.Exists(dir.File("o3")));
        foreach (var set in new Action<LlmFeatureSelectionEstimator.Options>[] { o => o.TextColumnNames = ["y"], o => o.FeatureColumnNames = ["x", "y"] })
        {
            var options = new LlmFeatureSelectionEstimator.Options { LabelColumnName = "y", Mode = FeatureSelectionMode.Data, CacheDirectory = null };
            set(options);
            Assert.Contains("Column 'y' is the label (Options.LabelColumnName)", Assert.Throws<ArgumentException>(() => new LlmFeatureSelectionEstimator(options)).Message);
        }
    }

    [Fact]
    public void Select_features_refuses_a_numeric_column_as_free_text()
    {
        using var dir = new Fixtures.TempDir();
        var rng = new Random(5);
        string csv = dir.File("numbers.csv");
        File.WriteAllLines(csv, ["glucose,note,label", .. Enumerable.Range(0, 60).Select(i =>
        {
            double g = 70 + 100 * rng.NextDouble();
            return FormattableString.Invariant($"{g:F1},\"note {i % 7}\",{(g > 120 ? "yes" : "no")}");
        })]);
        byte[] bytes = File.ReadAllBytes(csv);
        AssertRefused(Run("select-features", "--dataset", csv, "--label-col", "label", "--text-cols", "glucose", "--mode", "data", "--no-cache", "--output", dir.File("out")),
            "--text-cols", "'glucose'", "numbers");
        Assert.False(Directory.Exists(dir.File("out")));
        Assert.Equal(bytes, File.ReadAllBytes(csv));
        var ok = Run("select-features", "--dataset", csv, "--label-col", "label", "--text-cols", "note", "--mode", "data", "--no-cache", "--output", dir.File("out"));
        Assert.True(ok.Code == 0, ok.Output);
    }

    [Fact]
    public void Embed_from_a_model_zip_honours_pooling_and_max_length_or_refuses_them_by_name()
    {
        using var dir = new Fixtures.TempDir();
        string csv = TopicsCsv(dir.File("topics.csv"), 60);
        string Zip(string encoder)
        {
            var run = Run("train", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--encoder", encoder, "--epochs", "1", "--max-length", "32",
                "--output", dir.File(encoder));
            Assert.True(run.Code == 0, run.Output);
            return Path.Combine(dir.File(encoder), "model.zip");
        }
        string Embed(string zip, string name, params string[] more)
        {
            var run = Run(["embed", "--model", zip, "--dataset", csv, "--text-col", "text", "--output", dir.File(name), .. more]);
            Assert.True(run.Code == 0, run.Output);
            return File.ReadAllText(dir.File(name));
        }

        // The from-scratch transformer: another pooling of its token states, another truncation, each a different output.
        string transformer = Zip("transformer");
        string own = Embed(transformer, "own.csv");
        Assert.Equal(own, Embed(transformer, "mean.csv", "--pooling", "Mean", "--max-length", "32")); // what it was trained with
        var variants = new[] { Embed(transformer, "max.csv", "--pooling", "Max"), Embed(transformer, "cls.csv", "--pooling", "Cls"), Embed(transformer, "short.csv", "--max-length", "8") };
        Assert.Equal(4, variants.Append(own).Distinct().Count());
        AssertRefused(Run("embed", "--model", transformer, "--dataset", csv, "--text-col", "text", "--output", dir.File("long.csv"), "--max-length", "100"),
            "--max-length must be at most 32");
        AssertRefused(Run("embed", "--model", transformer, "--dataset", csv, "--text-col", "text", "--output", dir.File("pooler.csv"), "--pooling", "Pooler"),
            "--pooling Pooler", "needs an encoder with a pooler");

        // The LSTM pools mean and max together: a pooling is refused; a length is honoured.
        string lstm = Zip("lstm");
        AssertRefused(Run("embed", "--model", lstm, "--dataset", csv, "--text-col", "text", "--output", dir.File("lstm-max.csv"), "--pooling", "Max"),
            "--pooling Max", "LSTM");
        Assert.NotEqual(Embed(lstm, "lstm.csv"), Embed(lstm, "lstm-short.csv", "--max-length", "4"));
        foreach (var refused in new[] { "long.csv", "pooler.csv", "lstm-max.csv" }) Assert.False(File.Exists(dir.File(refused)));
    }

    [Fact]
    public void Predict_says_what_a_feature_selection_model_is_and_scores_a_pipeline_built_on_one()
    {
        using var dir = new Fixtures.TempDir();
        var rng = new Random(9);
        string csv = dir.File("clinic.csv");
        File.WriteAllLines(csv, ["glucose,mass,label", .. Enumerable.Range(0, 80).Select(i =>
        {
            double g = 70 + 100 * rng.NextDouble(), m = 20 + 20 * rng.NextDouble();
            return FormattableString.Invariant($"{g:F1},{m:F1},{(g + 2 * m > 170 ? "yes" : "no")}");
        })]);
        var selected = Run("select-features", "--dataset", csv, "--label-col", "label", "--mode", "data", "--keep", "1", "--no-cache", "--output", dir.File("fs"));
        Assert.True(selected.Code == 0, selected.Output);
        string zip = Path.Combine(dir.File("fs"), "model.zip");
        AssertRefused(Run("predict", "--model", zip, "--dataset", csv, "--output", dir.File("p.csv")), "feature selection model", "select-features", "no predictions");
        Assert.False(File.Exists(dir.File("p.csv")));

        // The same selection with a trainer appended in code (the README's use): predict reads the numeric columns as numbers.
        var ml = new MLContext(1);
        var data = MlNetLlm.MlNet.Data.CsvTable.Load(csv).ToDataView(ml, textColumns: ["label"]);
        var pipeline = ml.Transforms.FeatureSelection.SelectFeaturesWithLlm(new LlmFeatureSelectionEstimator.Options
            {
                LabelColumnName = "label", Mode = FeatureSelectionMode.Data, KeepCount = 2, CacheDirectory = null,
            })
            .Append(ml.Transforms.Conversion.MapValueToKey("Label", "label"))
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy());
        ml.Model.Save(pipeline.Fit(data), data.Schema, dir.File("pipeline.zip"));
        var run = Run("predict", "--model", dir.File("pipeline.zip"), "--dataset", csv, "--output", dir.File("p.csv"));
        Assert.True(run.Code == 0, run.Output);
        Assert.Equal(81, File.ReadAllLines(dir.File("p.csv")).Length);
    }

    [Fact]
    public void Bad_option_values_name_the_flag_and_the_transformer_length_is_bounded()
    {
        using var dir = new Fixtures.TempDir();
        string csv = TopicsCsv(dir.File("topics.csv"), 30);
        string[] Train(params string[] more) => ["train", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--output", dir.File("o"), .. more];
        foreach (var (args, flag) in new (string[], string)[]
        {
            (Train("--max-length", "2"), "--max-length must be at least 3"),
            (Train("--batch-size", "0"), "--batch-size must be at least 1"),
            (Train("--learning-rate", "NaN"), "--learning-rate must be a positive number"),
            (Train("--epochs", "0"), "--epochs must be at least 1"),
            (Train("--threads", "0"), "--threads must be positive"),
            (Train("--device", "bogus"), "--device 'bogus'"),
            (Train("--task", "regression", "--max-classes", "3"), "--max-classes keeps the most frequent classes"),
            (["classification", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--output", dir.File("o"), "--max-classes", "0"], "--max-classes must be at least 1"),
            // One learned position per token: 100,000 would be a 100,000-row table (the checkpoints' bound is 512 too).
            (Train("--encoder", "transformer", "--max-length", "100000"), "--max-length must be at most 512"),
            (["embed", "--model", Fixtures.Checkpoint("tiny-bert"), "--dataset", csv, "--text-col", "text", "--output", dir.File("e.csv"), "--batch-size", "0"], "--batch-size must be at least 1"),
            (["embed", "--model", Fixtures.Checkpoint("tiny-bert"), "--dataset", csv, "--text-col", "text", "--output", dir.File("e.csv"), "--max-length", "2"], "--max-length must be at least 3"),
            (["tokenize", "--model", Fixtures.Checkpoint("tiny-bert"), "--dataset", csv, "--text-col", "text", "--output", dir.File("t.txt"), "--max-length", "2"], "--max-length 2 is too short"),
        })
        {
            var run = Run(args);
            AssertRefused(run, flag);
            foreach (var property in new[] { "MaxLength", "BatchSize", "LearningRate", "Epochs", "Threads", "TextTrainerOptions", "TextEmbeddingOptions", "DeviceOptions", "maxLength" })
                Assert.DoesNotContain(property, run.Output);
        }
        Assert.False(Directory.Exists(dir.File("o")));
        Assert.False(File.Exists(dir.File("e.csv")));
    }

    [Fact]
    public void Options_that_cannot_apply_are_refused_by_name_not_ignored()
    {
        using var dir = new Fixtures.TempDir();
        string csv = TopicsCsv(dir.File("topics.csv"), 30), glove = dir.File("glove.txt");
        File.WriteAllLines(glove, ["sports 0.1 0.2"]);
        string split = dir.File("split.csv");
        File.WriteAllLines(split, ["text,label,split", .. File.ReadAllLines(csv).Skip(1).Select((l, i) => $"{l},{(i % 4 == 0 ? "test" : "train")}")]);
        string[] Train(params string[] more) => ["train", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--output", dir.File("o"), .. more];
        foreach (var (args, named) in new (string[], string[])[]
        {
            (Train("--encoder", "tfidf", "--epochs", "5", "--max-length", "64"), ["--epochs", "--max-length", "--encoder tfidf"]),
            (Train("--encoder", "tfidf", "--glove", glove), ["--glove", "tfidf"]),
            (Train("--positive-class", "sports"), ["--positive-class", "binary", "multiclass"]),
            (["train", "--dataset", split, "--label-col", "label", "--text-col", "text", "--split-col", "split", "--test-fraction", "0.3", "--output", dir.File("o")], ["--test-fraction", "--split-col"]),
            (Classification(csv, dir.File("o"), "--checkpoint", "minilm"), ["--checkpoint", "--candidates"]),
            (Classification(csv, dir.File("o"), "--threads", "1"), ["--threads", "--candidates"]),
            (Classification(csv, dir.File("o"), "--test-dataset", csv, "--test-fraction", "0.1"), ["--test-fraction", "--test-dataset"]),
            (["embed", "--model", Fixtures.Checkpoint("tiny-bert"), "--dataset", csv, "--text-col", "text", "--output", dir.File("e.parquet"), "--vector-column"], ["--vector-column", "parquet"]),
        })
            AssertRefused(Run(args), named);
        Assert.False(Directory.Exists(dir.File("o")));
        Assert.False(File.Exists(dir.File("e.parquet")));
    }

    [Fact]
    public void Every_option_a_command_sets_maps_to_its_flag()
    {
        // What the CLI sets, by options class: a library message naming any of them must reach the user as a flag.
        var set = new (Type Type, string[] Members)[]
        {
            (typeof(MlNetLlm.Estimators.Jobs.TextJobOptions), ["Dataset", "Separator", "LabelColumn", "TextColumns", "TestDataset", "SplitColumn", "TestFraction", "Encoder", "Task", "PositiveClass", "MaxClasses", "GlovePath", "Seed"]),
            (typeof(TextTrainerOptions), ["Epochs", "BatchSize", "LearningRate", "MaxLength", "Device", "Seed", "Encoder", "CheckpointPath", "GlovePath", "TextColumnName", "SecondTextColumnName", "LabelColumnName"]),
            (typeof(MlNetLlm.Modeling.Runtime.DeviceOptions), ["Device", "CudaDeviceId", "Threads"]),
            (typeof(ExperimentOptions), ["TrainTime", "MaxTrials", "Tuner", "Store", "Resume", "Join", "ExperimentName", "CheckpointPath", "Candidates", "Refit", "Device"]),
            (typeof(MlNetLlm.Transforms.Embeddings.TextEmbeddingOptions), ["Pooling", "Normalize", "MaxLength", "BatchSize", "InputColumnName", "CheckpointPath"]),
            (typeof(LlmFeatureSelectionEstimator.Options), ["LabelColumnName", "LabelKind", "FeatureColumnNames", "TextColumnNames", "TaskDescription", "Mode", "DataEvidence", "KeepCount",
                "KeepFraction", "ScoreThreshold", "PositiveLabel", "BatchSize", "RequestTimeout", "LlmTimeBudget", "MaxRetries", "CrossValidationFolds", "Seed", "CacheDirectory",
                "ColumnDescriptions", "LocalPrior"]),
        };
        foreach (var (type, members) in set)
            foreach (var m in members)
            {
                Assert.True(type.GetMember(m).Length > 0, $"{type.Name} has no member {m}");
                string mapped = CliOptionNames.ToFlags($"{type.Name}.{m} is wrong.");
                Assert.True(mapped.StartsWith("--"), $"{type.Name}.{m} has no CLI flag: '{mapped}'");
            }
    }

    [Fact]
    public void A_model_cache_variable_naming_a_file_is_named_in_the_error()
    {
        using var dir = new Fixtures.TempDir();
        string file = dir.File("not-a-folder");
        File.WriteAllText(file, "x");
        string csv = dir.File("s.csv");
        File.WriteAllLines(csv, ["text", "hello world"]);
        var p = TestProcesses.StartCli(["embed", "--model", "minilm", "--dataset", csv, "--text-col", "text", "--output", dir.File("e.csv")],
            environment: new Dictionary<string, string> { [BundledModels.CacheVariable] = file });
        AssertRefused(TestProcesses.FinishCli(p), BundledModels.CacheVariable, file, "is a file");
        Assert.Equal("x", File.ReadAllText(file));
        Assert.False(File.Exists(dir.File("e.csv")));
    }
}
