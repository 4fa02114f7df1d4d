using System.CommandLine;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using MlNetLlm.AutoMl;
using MlNetLlm.AutoMl.Experiments;
using MlNetLlm.Cli.Commands;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.Cli.Tests;

/// <summary>Nothing lost, nothing silently wrong: outputs never overwrite inputs, damaged zips and undecodable files are
/// errors that name what is at fault, unseen labels count as wrong, and AutoML stops repeating certain failures.</summary>
[Collection("console")]
public class BadInputTests
{
    private static readonly object ConsoleGate = new();

    /// <summary>Runs mlnet-llm in-process; returns the exit code and what it printed.</summary>
    internal static (int Code, string Output) Run(params string[] args)
    {
        lock (ConsoleGate)
        {
            var root = new RootCommand
            {
                new TrainCommand().Build(), new PredictCommand().Build(), new EmbedCommand().Build(), new TokenizeCommand().Build(), new ClassificationCommand().Build(),
                new SelectFeaturesCommand().Build(),
            };
            var output = new StringWriter();
            var previous = Spectre.Console.AnsiConsole.Console;
            var console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(output), Ansi = Spectre.Console.AnsiSupport.No });
            console.Profile.Width = 1000; // no wrapping inside the messages checked
            Spectre.Console.AnsiConsole.Console = console;
            try
            {
                int code = root.Parse(args).Invoke();
                return (code, output.ToString());
            }
            finally
            {
                Spectre.Console.AnsiConsole.Console = previous;
            }
        }
    }

    private static string TopicsCsv(Fixtures.TempDir dir, string name = "topics.csv", int n = 90) =>
        TextData.WriteCsv(dir.File(name), TextData.Topics3(n, seed: 43));

    private static string TrainTfidf(Fixtures.TempDir dir, string csv)
    {
        var (code, output) = Run("train", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--encoder", "tfidf", "--output", dir.File("m"));
        Assert.True(code == 0, output);
        return Path.Combine(dir.File("m"), "model.zip");
    }

    [Fact]
    public void An_output_that_is_an_input_is_refused_and_the_input_is_unchanged()
    {
        using var dir = new Fixtures.TempDir();
        string csv = TopicsCsv(dir);
        string zip = TrainTfidf(dir, csv);
        byte[] csvBytes = File.ReadAllBytes(csv), zipBytes = File.ReadAllBytes(zip);

        foreach (var (args, named) in new[]
        {
            (new[] { "predict", "--model", zip, "--dataset", csv, "--output", csv }, "--dataset"),
            (new[] { "predict", "--model", zip, "--dataset", csv, "--output", zip }, "--model"),
            (new[] { "embed", "--model", "minilm", "--dataset", csv, "--text-col", "text", "--output", csv }, "--dataset"),
            (new[] { "tokenize", "--model", "minilm", "--dataset", csv, "--text-col", "text", "--output", Path.Combine(dir.Path, ".", "topics.csv") }, "--dataset"),
        })
        {
            var (code, output) = Run(args);
            Assert.Equal(1, code);
            Assert.Contains(named, output);
            Assert.DoesNotContain("   at ", output); // no stack trace
        }
        Assert.Equal(csvBytes, File.ReadAllBytes(csv));
        Assert.Equal(zipBytes, File.ReadAllBytes(zip));

        var (dirCode, dirOutput) = Run("predict", "--model", zip, "--dataset", csv, "--output", dir.Path);
        Assert.Equal(1, dirCode);
        Assert.Contains("is a directory", dirOutput);
        Assert.Equal(1, Run("embed", "--model", "minilm", "--dataset", csv, "--text-col", "text", "--output", dir.File("e.txt")).Code);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.part", SearchOption.AllDirectories));
    }

    [Fact]
    public void A_zip_whose_weights_were_damaged_fails_to_load_naming_the_entry()
    {
        using var dir = new Fixtures.TempDir();
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(TextData.Topics3(60, seed: 3));
        var options = new MlNetLlm.Estimators.TextTrainerOptions { TextColumnName = "Text", Encoder = MlNetLlm.Modeling.Training.TextEncoderKind.Lstm, Epochs = 1, MaxLength = 32 };
        var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(MlNetLlm.Estimators.TextCatalog.TextClassifier(ml.MulticlassClassification.Trainers, options)).Fit(data);
        string zip = dir.File("model.zip");
        ml.Model.Save(model, data.Schema, zip);

        // Bytes overwritten inside the weights, the zip itself kept consistent (as a bad disk or copy can leave it).
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Update))
        {
            var entry = archive.Entries.Single(e => e.FullName.EndsWith("weights.safetensors"));
            byte[] bytes;
            using (var s = entry.Open()) { using var ms = new MemoryStream(); s.CopyTo(ms); bytes = ms.ToArray(); }
            for (int i = bytes.Length / 2; i < bytes.Length / 2 + 64; i++) bytes[i] = 0xFF; // NaN patterns in fp32
            string name = entry.FullName;
            entry.Delete();
            using var w = archive.CreateEntry(name).Open();
            w.Write(bytes);
        }
        var e = Assert.ThrowsAny<Exception>(() => new MLContext().Model.Load(zip, out _)); // plain ML.NET: the cause inside
        Assert.Contains("weights.safetensors", e.ToString());
        var named = Assert.Throws<InvalidDataException>(() => MlNetLlm.MlNet.Persistence.ModelFile.Load(new MLContext(), zip, out _));
        Assert.Contains("weights.safetensors", named.Message);
        Assert.Contains("corrupt", named.Message);
        Assert.Contains("model.zip", named.Message);

        var (code, output) = Run("predict", "--model", zip, "--dataset", TopicsCsv(dir), "--output", dir.File("p.csv"));
        Assert.Equal(1, code);
        Assert.Contains("weights.safetensors", output);
        Assert.False(File.Exists(dir.File("p.csv")));
    }

    [Fact]
    public void A_latin1_file_is_an_error_naming_the_line_and_byte_offset()
    {
        using var dir = new Fixtures.TempDir();
        string csv = dir.File("latin1.csv");
        File.WriteAllBytes(csv, Encoding.Latin1.GetBytes("text,label\nnice coffee,café\nnice tea,tea\nstrong,cafè\n"));
        var (code, output) = Run("train", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--encoder", "tfidf", "--output", dir.File("o"));
        Assert.Equal(1, code);
        Assert.Contains("latin1.csv", output);
        Assert.Contains("not valid UTF-8", output);
        Assert.Contains("line 2", output);
        Assert.Contains("byte offset 26", output);
        Assert.False(Directory.Exists(dir.File("o"))); // a failed run leaves no output folder
    }

    [Fact]
    public void Semicolon_and_tab_files_name_their_separator_and_load_with_it()
    {
        using var dir = new Fixtures.TempDir();
        var rows = TextData.Topics3(60, seed: 7).ToList();
        string semi = dir.File("semi.csv"), tab = dir.File("tab.tsv");
        File.WriteAllLines(semi, ["text;label", .. rows.Select(r => $"\"{r.Text}, really\";{r.Label}")]); // commas inside quoted fields
        File.WriteAllLines(tab, ["text\tlabel", .. rows.Select(r => $"{r.Text}\t{r.Label}")]);
        byte[] before = File.ReadAllBytes(semi);

        // The library: the error names the file, shows the header and carries the separator it suggests.
        var e = Assert.Throws<MlNetLlm.MlNet.Data.CsvFormatException>(() => MlNetLlm.MlNet.Data.CsvTable.Load(semi));
        Assert.Equal(';', e.SuggestedSeparator);
        Assert.Contains("semi.csv", e.Message);
        Assert.Contains("\"text;label\"", e.Message);
        Assert.Equal('\t', Assert.Throws<MlNetLlm.MlNet.Data.CsvFormatException>(() => MlNetLlm.MlNet.Data.CsvTable.Load(tab)).SuggestedSeparator);
        var table = MlNetLlm.MlNet.Data.CsvTable.Load(semi, ';');
        Assert.Equal(["text", "label"], table.Header);
        Assert.Equal(rows[0].Text + ", really", table.Rows[0][0]);

        // The CLI: one line naming the flag, no stack trace; with the flag the same file trains and predicts.
        var (code, output) = Run("train", "--dataset", semi, "--label-col", "label", "--text-col", "text", "--encoder", "tfidf", "--output", dir.File("m"));
        Assert.Equal(1, code);
        Assert.Contains("semicolon-separated", output);
        Assert.Contains("--separator ';'", output);
        Assert.DoesNotContain("   at ", output);
        Assert.False(Directory.Exists(dir.File("m")));
        (code, output) = Run("train", "--dataset", semi, "--separator", ";", "--label-col", "label", "--text-col", "text", "--encoder", "tfidf", "--output", dir.File("m"));
        Assert.True(code == 0, output);
        (code, output) = Run("predict", "--model", Path.Combine(dir.File("m"), "model.zip"), "--dataset", tab, "--separator", "tab", "--output", dir.File("p.csv"));
        Assert.True(code == 0, output);
        Assert.Equal(rows.Count + 1, File.ReadAllLines(dir.File("p.csv")).Length);
        (code, output) = Run("predict", "--model", Path.Combine(dir.File("m"), "model.zip"), "--dataset", tab, "--output", dir.File("p2.csv"));
        Assert.Equal(1, code);
        Assert.Contains("--separator tab", output);
        (code, output) = TestProcesses.RunCli("predict", "--model", Path.Combine(dir.File("m"), "model.zip"), "--dataset", tab, "--separator", "ab", "--output", dir.File("p3.csv"));
        Assert.NotEqual(0, code);
        Assert.Contains("--separator 'ab'", output);
        Assert.Equal(before, File.ReadAllBytes(semi));
    }

    [Fact]
    public void Test_rows_with_labels_never_seen_in_training_count_as_wrong_and_are_reported()
    {
        using var dir = new Fixtures.TempDir();
        string train = TopicsCsv(dir, "train.csv", 90);
        var test = TextData.Topics3(30, seed: 44).Select(r => $"\"{r.Text}\",{r.Label}").ToList();
        test.AddRange(Enumerable.Range(0, 10).Select(i => $"\"a song with a melody number {i}\",music"));
        string testCsv = dir.File("test.csv");
        File.WriteAllLines(testCsv, ["text,label", .. test]);
        var (code, output) = Run("train", "--dataset", train, "--test-dataset", testCsv, "--label-col", "label", "--text-col", "text", "--encoder", "tfidf", "--output", dir.File("o"));
        Assert.True(code == 0, output);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.File("o"), "metrics.json")));
        Assert.Equal(10, metrics.RootElement.GetProperty("unseenLabelRows").GetInt32());
        Assert.True(metrics.RootElement.GetProperty("accuracy").GetDouble() <= 30.0 / 40, "the 10 'music' rows cannot be right");
        Assert.Contains("never occurred in training", output);
    }

    [Fact]
    public void Experiments_fail_at_once_on_data_that_no_trial_can_use()
    {
        using var dir = new Fixtures.TempDir();
        string headerOnly = dir.File("header.csv");
        File.WriteAllLines(headerOnly, ["text,label"]);
        var (code, output) = Run("classification", "--dataset", headerOnly, "--label-col", "label", "--text-col", "text", "--output", dir.File("o1"), "--checkpoint", "none");
        Assert.Equal(1, code);
        Assert.Contains("no training rows", output);

        string oneClass = dir.File("one.csv");
        File.WriteAllLines(oneClass, ["text,label", .. Enumerable.Range(0, 20).Select(i => $"text {i},same")]);
        (code, output) = Run("classification", "--dataset", oneClass, "--label-col", "label", "--text-col", "text", "--output", dir.File("o2"), "--checkpoint", "none");
        Assert.Equal(1, code);
        Assert.Contains("only one class", output);
        Assert.Contains("'label'", output);

        (code, output) = Run("train", "--dataset", TopicsCsv(dir), "--label-col", "label", "--text-col", "text", "--max-classes", "0", "--output", dir.File("o3"));
        Assert.Equal(1, code);
        Assert.Contains("--max-classes", output);

        // Regression labels: a word, and NaN (a number to float.Parse, but no metric survives it).
        foreach (var bad in new[] { "good", "NaN", "Infinity" })
        {
            string reg = dir.File($"reg-{bad}.csv");
            File.WriteAllLines(reg, ["text,stars", .. Enumerable.Range(0, 30).Select(i => $"text {i},{(i == 7 ? bad : (i % 5).ToString())}")]);
            (code, output) = Run("train", "--dataset", reg, "--label-col", "stars", "--text-col", "text", "--task", "regression", "--encoder", "lstm", "--output", dir.File("o4"));
            Assert.True(code == 1, output);
            Assert.Contains("'stars'", output);
            Assert.Contains($"'{bad}'", output);
            Assert.DoesNotContain("   at ", output);
        }

        // A test split whose labels are all equal has no R²: metrics.json says NaN instead of the run failing after training.
        string flat = dir.File("flat.csv");
        File.WriteAllLines(flat, ["text,stars,split", .. Enumerable.Range(0, 40).Select(i => i < 30 ? $"text {i},{i % 5},train" : $"text {i},2,test")]);
        (code, output) = Run("train", "--dataset", flat, "--label-col", "stars", "--text-col", "text", "--split-col", "split", "--task", "regression", "--encoder", "tfidf", "--output", dir.File("o5"));
        Assert.True(code == 0, output);
        Assert.Contains("\"rSquared\": \"NaN\"", File.ReadAllText(Path.Combine(dir.File("o5"), "metrics.json")));
    }

    /// <summary>Fails every trial the same way, as a candidate whose input is unusable would.</summary>
    private sealed class AlwaysFails() : Candidate("always-fails", SearchSpaces.SdcaMaximumEntropy(), classical: true)
    {
        public int Calls;
        protected override FittedPipeline Fit(MLContext ml, TextJobData data, IDataView? validation, ParameterSet p, DeviceOptions device, TrialControl control)
        {
            Calls++;
            throw new FileNotFoundException("GloVe file 'missing.txt' does not exist.");
        }
    }

    [Fact]
    public void A_candidate_that_fails_twice_the_same_way_is_retired_and_the_budget_goes_to_the_others()
    {
        using var dir = new Fixtures.TempDir();
        var failing = new AlwaysFails();
        var o = new ExperimentOptions { Data = new() { Dataset = TopicsCsv(dir), LabelColumn = "label", TextColumns = ["text"], Seed = 1 }, MaxTrials = 12, TrainTime = TimeSpan.FromMinutes(2) };
        var result = TextExperiment.Run(new MLContext(1), o, dir.File("out"), [failing, ClassicalCandidate.Sdca()]);
        Assert.Equal(2, failing.Calls);
        Assert.Equal(10, result.Trials.Count(t => t.Parameters.GetString(TextExperiment.CandidateKey) == "tfidf+sdca"));

        var alone = new AlwaysFails();
        var e = Assert.Throws<InvalidOperationException>(() => TextExperiment.Run(new MLContext(1), o, dir.File("out2"), [alone]));
        Assert.Equal(2, alone.Calls);
        Assert.Contains("missing.txt", e.Message);
    }

    [Fact]
    public void Resume_on_changed_data_at_the_same_path_is_refused_naming_the_file()
    {
        using var dir = new Fixtures.TempDir();
        string csv = TopicsCsv(dir);
        var o = new ExperimentOptions { Data = new() { Dataset = csv, LabelColumn = "label", TextColumns = ["text"], Seed = 1 }, MaxTrials = 2, Candidates = ["tfidf+sdca"] };
        TextExperiment.Run(new MLContext(1), o, dir.File("out"));
        File.AppendAllLines(csv, ["\"one more sports row about football\",sports"]);
        var e = Assert.Throws<InvalidOperationException>(() => TextExperiment.Run(new MLContext(1), o with { Resume = true, MaxTrials = 3 }, dir.File("out")));
        Assert.Contains("has changed", e.Message);
        Assert.Contains("topics.csv", e.Message);
    }
}

/// <summary>Option and environment errors are one line naming the cause, never a stack trace.</summary>
[Collection("console")]
public class CliErrorMessageTests
{
    private static (int Code, string Output) Run(params string[] args) => TestProcesses.RunCli(args);

    [Fact]
    public void Store_output_and_dataset_mistakes_name_the_cause_without_a_stack_trace()
    {
        using var dir = new Fixtures.TempDir();
        string file = dir.File("a-file");
        File.WriteAllText(file, "x");
        foreach (var (args, expected) in new[]
        {
            (new[] { "classification", "--output", file, "--max-trials", "1", "--checkpoint", "none" }, "is a file"),
            (new[] { "classification", "--store", "postgres://u:p@127.0.0.1:5999/db", "--max-trials", "1", "--checkpoint", "none", "--output", dir.File("o2") }, "127.0.0.1:5999"),
            (new[] { "classification", "--device", "bogus", "--max-trials", "1", "--output", dir.File("o3") }, "bogus"),
            (new[] { "train", "--dataset", dir.Path, "--label-col", "a", "--text-col", "b", "--output", dir.File("o4") }, "is a directory"),
        })
        {
            var (code, output) = Run(args);
            Assert.True(code == 1, $"{string.Join(' ', args)}: exit {code}\n{output}");
            Assert.Contains(expected, output);
            Assert.DoesNotContain("   at ", output);
        }
        Assert.False(Directory.Exists(dir.File("o4")));
    }
}

/// <summary>Ctrl+C (SIGINT) and SIGTERM in the middle of an experiment: a message, exit 130, and the finished trials kept.</summary>
public class InterruptTests
{
    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public void An_interrupted_experiment_says_so_exits_130_and_resumes_from_its_store(string signal)
    {
        using var dir = new Fixtures.TempDir();
        string csv = dir.File("topics.csv");
        // Every third label swapped: no candidate reaches a perfect score, so the run would go on for its whole budget.
        var rows = TextData.Topics3(150, seed: 43);
        File.WriteAllLines(csv, ["text,label", .. rows.Select((r, i) => $"\"{r.Text}\",{(i % 3 == 0 ? rows[(i + 1) % rows.Count].Label : r.Label)}")]);
        string[] args = ["classification", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--checkpoint", "none",
            "--candidates", "tfidf+sdca", "lstm", "--train-time", "600", "--output", dir.File("out")];
        var p = TestProcesses.StartCli(args, defaultSignals: true);
        var seen = new StringBuilder();
        using var ready = new ManualResetEventSlim();
        var reader = Task.Run(() =>
        {
            string? line;
            while ((line = p.StandardOutput.ReadLine()) is not null)
            {
                lock (seen) seen.AppendLine(line);
                // A baseline finished and an LSTM trial is running: interrupt in the middle of training.
                string text;
                lock (seen) text = seen.ToString();
                if (text.Contains("completed") && text.Contains("lstm started")) ready.Set();
            }
        });
        string stderr;
        try
        {
            Assert.True(ready.Wait(TimeSpan.FromSeconds(120)), $"no trial started: {seen}");
            using (var kill = System.Diagnostics.Process.Start("kill", ["-" + signal, p.Id.ToString()])) kill.WaitForExit();
            Assert.True(p.WaitForExit(60_000), "the run did not stop within 60 s of the signal");
            reader.Wait(10_000);
            stderr = p.StandardError.ReadToEnd();
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
        string output = seen + stderr;
        Assert.True(p.ExitCode == 130, $"exit {p.ExitCode}: {output}");
        Assert.Contains("interrupted", output);
        Assert.DoesNotContain("   at ", output);
        Assert.False(File.Exists(Path.Combine(dir.File("out"), "model.zip")));

        // What finished is in the store: resuming with no further trials collects it into the outputs.
        var (code, resumed) = TestProcesses.RunCli([.. args, "--resume", "--max-trials", "0"]);
        Assert.True(code == 0, resumed);
        Assert.True(File.Exists(Path.Combine(dir.File("out"), "model.zip")));
    }
}

/// <summary>select-features against an endpoint that accepts the connection and never answers.</summary>
public class StalledLlmTests
{
    [Fact]
    public void A_silent_llm_endpoint_costs_the_budget_then_the_data_evidence_is_used()
    {
        using var dir = new Fixtures.TempDir();
        var rng = new Random(3);
        string csv = dir.File("numbers.csv");
        File.WriteAllLines(csv, ["x1,x2,x3,x4,label", .. Enumerable.Range(0, 120).Select(i =>
        {
            double a = rng.NextDouble(), b = rng.NextDouble();
            return FormattableString.Invariant($"{a:F4},{b:F4},{rng.NextDouble():F4},{rng.NextDouble():F4},{(a + 0.3 * b > 0.65 ? "yes" : "no")}");
        })]);
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var held = new List<System.Net.Sockets.TcpClient>();
        using var stop = new CancellationTokenSource();
        var accept = Task.Run(async () =>
        {
            try { while (true) held.Add(await listener.AcceptTcpClientAsync(stop.Token)); } // accept, read nothing, answer nothing
            catch (OperationCanceledException) { }
        });
        try
        {
            int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
            var run = Task.Run(() => TestProcesses.RunCli("select-features", "--dataset", csv, "--label-col", "label", "--task", "whether a point is above a line",
                "--llm", $"ollama:tiny@http://127.0.0.1:{port}", "--timeout", "1", "--llm-budget", "4", "--retries", "0", "--no-cache", "--output", dir.File("out")));
            Assert.True(run.Wait(TimeSpan.FromSeconds(150)), "select-features hung on a silent endpoint");
            var (code, output) = run.Result;
            Assert.True(code == 0, output);
            Assert.Contains("no reply within 1 s", output + string.Join("", Directory.GetFiles(dir.File("out")).Select(File.ReadAllText)));
        }
        finally
        {
            stop.Cancel();
            listener.Stop();
            foreach (var c in held) c.Dispose();
        }
    }
}
