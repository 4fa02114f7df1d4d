using System.CommandLine;
using System.Text.Json;
using MlNetLlm.Cli.Commands;

namespace MlNetLlm.Cli.Tests;

/// <summary>The mlnet-llm commands, parsed and run in-process as a user would call them. In the "console" collection
/// with the other classes that swap the process-wide AnsiConsole: one test's capture must not take another's output.</summary>
[Collection("console")]
public class CliTests
{
    private static int Run(params string[] args)
    {
        var root = new RootCommand { new TrainCommand().Build(), new PredictCommand().Build(), new EmbedCommand().Build(), new ClassificationCommand().Build() };
        return root.Parse(args).Invoke();
    }

    private static string TopicsCsv(Fixtures.TempDir dir, int n = 90) =>
        TextData.WriteCsv(dir.File("topics.csv"), TextData.Topics3(n, seed: 41));

    [Fact]
    public void Train_writes_model_and_metrics_and_predict_scores_a_csv()
    {
        using var dir = new Fixtures.TempDir();
        string csv = TopicsCsv(dir);
        string output = Path.Combine(dir.Path, "out");
        Assert.Equal(0, Run("train", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--encoder", "lstm", "--epochs", "2",
            "--test-fraction", "0.2", "--seed", "3", "--output", output));
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        var root = metrics.RootElement;
        Assert.Equal("multiclass", root.GetProperty("task").GetString());
        foreach (var key in new[] { "accuracy", "macroF1", "logLoss", "trainSeconds", "rows" })
            Assert.True(root.TryGetProperty(key, out _), $"metrics.json lacks {key}");
        Assert.Equal(72, root.GetProperty("rows").GetInt32());

        string predictions = dir.File("predictions.csv");
        Assert.Equal(0, Run("predict", "--model", Path.Combine(output, "model.zip"), "--dataset", csv, "--output", predictions));
        var lines = File.ReadAllLines(predictions);
        Assert.Equal("row,predicted_label,score", lines[0]);
        Assert.Equal(91, lines.Length);
        Assert.Contains(lines[1].Split(',')[1], new[] { "sports", "food", "tech" });
    }

    [Fact]
    public void Every_command_class_is_listed_in_the_help()
    {
        var (code, help) = TestProcesses.RunCli("--help");
        Assert.Equal(0, code);
        var names = typeof(MlNetLlm.Cli.ICliCommand).Assembly.GetTypes()
            .Where(t => typeof(MlNetLlm.Cli.ICliCommand).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => ((MlNetLlm.Cli.ICliCommand)Activator.CreateInstance(t)!).Build().Name).ToList();
        Assert.True(names.Count >= 9, string.Join(", ", names));
        Assert.All(names, name => Assert.Matches($@"(?m)^\s+{name}\s", help));
    }

    [Fact]
    public void Tfidf_binary_reports_auc()
    {
        using var dir = new Fixtures.TempDir();
        string path = dir.File("bin.csv");
        File.WriteAllLines(path, ["text,label", .. TextData.Topics3(90, seed: 42).Select(r => $"\"{r.Text}\",{(r.Label == "tech" ? "yes" : "no")}")]);
        Assert.Equal(0, Run("train", "--dataset", path, "--label-col", "label", "--text-col", "text", "--encoder", "tfidf", "--output", Path.Combine(dir.Path, "o")));
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "o", "metrics.json")));
        Assert.True(metrics.RootElement.GetProperty("auc").GetDouble() > 0.9, metrics.RootElement.GetProperty("auc").ToString()); // chance is 0.5
    }

    [Fact]
    public void Bad_files_and_options_exit_1_without_a_stack_trace()
    {
        using var dir = new Fixtures.TempDir();
        string bad = dir.File("bad.csv");
        File.WriteAllLines(bad, ["text,label", "\"unterminated,a"]);
        var stdout = new StringWriter();
        var previous = Console.Out;
        Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(stdout) });
        try
        {
            Assert.Equal(1, Run("train", "--dataset", bad, "--label-col", "label", "--text-col", "text", "--output", dir.File("o")));
            Assert.Contains("line 2", stdout.ToString());
            Assert.Equal(1, Run("train", "--dataset", TopicsCsv(dir), "--label-col", "label", "--text-col", "text", "--encoder", "gpt", "--output", dir.File("o")));
            Assert.Contains("--encoder 'gpt'", stdout.ToString());
            Assert.Equal(1, Run("predict", "--model", dir.File("missing.zip"), "--dataset", bad, "--output", dir.File("p.csv")));
        }
        finally
        {
            Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(previous) });
        }
    }

    [Fact]
    public void Precision_flag_is_recorded_refused_where_it_cannot_apply_and_fp16_is_explained()
    {
        using var dir = new Fixtures.TempDir();
        string csv = TopicsCsv(dir, 60);
        string auto = MlNetLlm.Modeling.Runtime.PrecisionSupport.CpuNativeBf16Flag is null ? "fp32" : "bf16";
        foreach (var (flag, expected) in new[] { ((string?)null, auto), ("fp32", "fp32") })
        {
            string output = Path.Combine(dir.Path, flag ?? "auto");
            string[] args = ["train", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--encoder", "transformer", "--epochs", "1", "--max-length", "24", "--output", output];
            Assert.Equal(0, Run(flag is null ? args : [.. args, "--precision", flag]));
            using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
            Assert.Equal(expected, metrics.RootElement.GetProperty("precision").GetString());
        }
        // predict: as trained unless asked; an explicit precision is applied to the model's encoder.
        Assert.Equal(0, Run("predict", "--model", Path.Combine(dir.Path, "fp32", "model.zip"), "--dataset", csv, "--output", dir.File("p32.csv")));
        Assert.Equal(0, Run("predict", "--model", Path.Combine(dir.Path, "fp32", "model.zip"), "--dataset", csv, "--output", dir.File("p16.csv"), "--precision", "bf16"));
        Assert.NotEqual(File.ReadAllLines(dir.File("p32.csv")), File.ReadAllLines(dir.File("p16.csv"))); // the scores moved a little
        Assert.Equal(File.ReadAllLines(dir.File("p32.csv")).Length, File.ReadAllLines(dir.File("p16.csv")).Length);

        var stdout = new StringWriter();
        var previous = Console.Out;
        Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(stdout) });
        try
        {
            Assert.Equal(1, Run("train", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--encoder", "lstm", "--precision", "bf16", "--output", dir.File("o")));
            Assert.Contains("--precision is Bf16, but the LSTM encoder runs in fp32 only", stdout.ToString());
            Assert.False(Directory.Exists(dir.File("o")));
        }
        finally
        {
            Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(previous) });
        }
        Assert.NotEqual(0, Run("train", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--precision", "fp16", "--output", dir.File("o")));
        Assert.Contains("fp16 needs loss scaling", Assert.Throws<ArgumentException>(() => CliOptions.ParsePrecision("fp16", null)).Message);
    }

    [Fact]
    public void Embed_writes_csv_per_dimension_vector_column_and_parquet()
    {
        using var dir = new Fixtures.TempDir();
        string csv = TopicsCsv(dir, 20);
        string checkpoint = Fixtures.Checkpoint("tiny-bert");
        Assert.Equal(0, Run("embed", "--model", checkpoint, "--dataset", csv, "--text-col", "text", "--output", dir.File("e.csv")));
        var lines = File.ReadAllLines(dir.File("e.csv"));
        Assert.Equal(21, lines.Length);
        Assert.Equal(1 + 32, lines[0].Split(',').Length);

        Assert.Equal(0, Run("embed", "--model", checkpoint, "--dataset", csv, "--text-col", "text", "--output", dir.File("v.csv"), "--vector-column", "--normalize"));
        Assert.Equal("row,embedding", File.ReadAllLines(dir.File("v.csv"))[0]);

        Assert.Equal(0, Run("embed", "--model", checkpoint, "--dataset", csv, "--text-col", "text", "--output", dir.File("e.parquet")));
        var bytes = File.ReadAllBytes(dir.File("e.parquet"));
        Assert.Equal("PAR1"u8.ToArray(), bytes[..4]);
        Assert.Equal("PAR1"u8.ToArray(), bytes[^4..]);
    }

    [Fact]
    public void Classification_run_again_into_the_same_output_keeps_the_earlier_experiment_aside()
    {
        using var dir = new Fixtures.TempDir();
        string csv = TopicsCsv(dir), output = Path.Combine(dir.Path, "out");
        string[] args = ["classification", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--candidates", "tfidf+sdca", "tfidf+lbfgs",
            "--max-trials", "2", "--output", output];
        Assert.Equal(0, Run(args));
        string firstMetrics = File.ReadAllText(Path.Combine(output, "metrics.json"));
        Assert.Equal(0, Run(args));
        string aside = Assert.Single(Directory.GetDirectories(output, "previous-*"));
        Assert.Equal(firstMetrics, File.ReadAllText(Path.Combine(aside, "metrics.json")));
        foreach (var f in new[] { "experiment.db", "model.zip", "metrics.json", "trials.csv", "report.html" })
            Assert.True(File.Exists(Path.Combine(output, f)), f);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(output, "trials.csv")).Length); // a fresh experiment: its own 2 trials
    }
}
