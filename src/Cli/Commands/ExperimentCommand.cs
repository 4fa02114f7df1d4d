using System.CommandLine;
using Microsoft.ML;
using MlNetLlm.AutoMl.Experiments;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;
using Spectre.Console;

namespace MlNetLlm.Cli.Commands;

/// <summary>
/// <c>mlnet-llm classification</c> and <c>mlnet-llm regression</c>: Model Builder style experiments. With no --dataset
/// they run on the bundled Amazon Fine Foods reviews (the README's main job).
/// </summary>
public abstract class ExperimentCommandBase(string name, string task, string description) : ICliCommand
{
    public Command Build()
    {
        var dataset = new Option<string?>("--dataset") { Description = "Training CSV; default: the bundled samples/data/amazon_fine_foods.csv (given split)." };
        var label = new Option<string?>("--label-col") { Description = "Label column (default for the bundled data: score)." };
        var text = new Option<string[]>("--text-col") { Description = "Text column(s) (default for the bundled data: review)." };
        var testDataset = new Option<string?>("--test-dataset");
        var testFraction = new Option<double>("--test-fraction") { DefaultValueFactory = _ => 0.2 };
        var maxClasses = new Option<int?>("--max-classes") { Description = "Keep the rows of the N most frequent labels only (classification)." };
        var splitCol = new Option<string?>("--split-col") { Description = "Column whose value 'test' marks test rows." };
        // 6 minutes: on 2 CPU cores the first round (baselines, one 1-epoch fine-tuning of the bundled model, its
        // embeddings, LSTM, transformer) fits, and the README's main job still ends within 10 minutes.
        var trainTime = new Option<int>("--train-time") { Description = "Time budget of this run in seconds (a resumed run gets its own).", DefaultValueFactory = _ => (int)ExperimentOptions.DefaultTrainTime.TotalSeconds };
        var maxTrials = new Option<int?>("--max-trials");
        var tuner = new Option<string>("--tuner") { Description = "cfo | random | grid | tpe", DefaultValueFactory = _ => "cfo" };
        var store = new Option<string?>("--store") { Description = "Trial store: FILE.db (SQLite, default OUTPUT/experiment.db) or postgres://user:pass@host:port/db." };
        var resume = new Option<bool>("--resume") { Description = "Continue the experiment in the store; unfinished trials are rerun (with --join: only those whose worker stopped sending heartbeats)." };
        var join = new Option<bool>("--join") { Description = "Work on the experiment next to other workers running it on the same --store (PostgreSQL, or a SQLite file on this machine); give them the same --output to share trial models." };
        var experiment = new Option<string>("--experiment") { Description = "Experiment name in the store.", DefaultValueFactory = _ => "experiment" };
        var checkpoint = new Option<string>("--checkpoint")
        {
            Description = "Pretrained encoder for fine-tune, embeddings+sdca and embeddings+lightgbm: a Hugging Face model folder, a bundled model (minilm, arctic-xs), or none.",
            DefaultValueFactory = _ => "minilm",
        };
        var glove = new Option<string?>("--glove") { Description = "GloVe text file: adds lstm+glove." };
        var candidates = new Option<string[]?>("--candidates") { Description = "Only these candidates (e.g. tfidf+sdca lstm transformer).", AllowMultipleArgumentsPerToken = true };
        var refit = new Option<bool?>("--refit")
        {
            Description = "Fit the chosen pipeline again on all training rows (train + validation) before saving it. Default: when its measured cost fits in the budget left; --refit true: always; --refit false: never.",
        };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var device = CliOptions.Device();
        var threads = CliOptions.Threads("CPU threads for libtorch (the neural candidates); ML.NET's learners use their own.");
        var precision = CliOptions.Precision("auto | fp32 | bf16 for the neural candidates (fine-tune, transformer, embeddings); the LSTM ones are fp32 whatever is chosen, so bf16 needs them left out. auto: bf16 where the device computes it natively.");
        var output = new Option<string>("--output") { Description = "Folder for model.zip, metrics.json, trials.csv, report.html.", DefaultValueFactory = _ => Path.Combine("out", name) };
        var separator = CliOptions.Separator();
        var cmd = new Command(name, description)
        {
            dataset, label, text, testDataset, testFraction, splitCol, maxClasses, trainTime, maxTrials, tuner, store, resume, join, experiment, checkpoint, glove, candidates, refit, seed, device, threads, precision, output, separator,
        };
        cmd.SetAction((parse, ct) => Task.FromResult(CliErrors.Run(() =>
        {
            string? ds = parse.GetValue(dataset);
            bool bundled = ds is null;
            if (parse.GetValue(testDataset) is not null || parse.GetValue(splitCol) is not null)
                CliOptions.RefuseGiven(parse, "holds out test rows when neither --test-dataset nor --split-col gives them", testFraction);
            if (parse.GetValue(candidates) is { Length: > 0 } only && !only.Any(c => c is "fine-tune" or "embeddings+sdca" or "embeddings+lightgbm")
                && parse.GetValue(checkpoint) is { } named && !named.Equals("none", StringComparison.OrdinalIgnoreCase))
                CliOptions.RefuseGiven(parse, "is read by the fine-tune and embeddings candidates, which --candidates leaves out", checkpoint);
            if (parse.GetValue(candidates) is { Length: > 0 } chosen && chosen.All(c => c.StartsWith("tfidf+", StringComparison.Ordinal)))
                CliOptions.RefuseGiven(parse, "sets libtorch's threads for the neural candidates, which --candidates leaves out", threads);
            if (bundled && task == "regression")
                throw new ArgumentException("The bundled data set is a classification task: give --dataset and --label-col for regression.");
            var o = new ExperimentOptions
            {
                Data = new TextJobOptions
                {
                    Dataset = ds ?? BundledData(),
                    Separator = parse.GetValue(separator),
                    LabelColumn = parse.GetValue(label) ?? (bundled ? "score" : throw new ArgumentException("--label-col is required with --dataset.")),
                    TextColumns = parse.GetValue(text) is { Length: > 0 } t ? t : bundled ? ["review"] : throw new ArgumentException("--text-col is required with --dataset."),
                    TestDataset = parse.GetValue(testDataset),
                    TestFraction = parse.GetValue(testFraction),
                    SplitColumn = parse.GetValue(splitCol) ?? (bundled ? "split" : null),
                    Task = task == "regression" ? TaskKind.Regression : null,
                    MaxClasses = parse.GetValue(maxClasses),
                    GlovePath = parse.GetValue(glove),
                    Seed = parse.GetValue(seed),
                },
                TrainTime = TimeSpan.FromSeconds(parse.GetValue(trainTime)),
                MaxTrials = parse.GetValue(maxTrials),
                Tuner = ParseTuner(parse.GetValue(tuner)!),
                Store = parse.GetValue(store),
                Resume = parse.GetValue(resume),
                Join = parse.GetValue(join),
                ExperimentName = parse.GetValue(experiment)!,
                CheckpointPath = parse.GetValue(checkpoint) is { } c && !c.Equals("none", StringComparison.OrdinalIgnoreCase) ? c : null,
                Candidates = parse.GetValue(candidates) is { Length: > 0 } names ? names : null,
                Refit = parse.GetValue(refit),
                Device = DeviceOptions.Parse(parse.GetValue(device)!, parse.GetValue(threads)),
                Precision = parse.GetValue(precision),
                CancellationToken = ct,
            };
            // Run again into the same --output (no --store, --resume or --join): the earlier experiment is kept aside
            // rather than refused, so the README's main job can simply be run again.
            o = o with { MoveEarlierRunAside = o.Store is null && !o.Resume && !o.Join };
            return Run(o, parse.GetValue(output)!);
        })));
        return cmd;
    }

    private static string BundledData()
    {
        foreach (var dir in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var d = new DirectoryInfo(dir); d is not null; d = d.Parent)
            {
                string path = Path.Combine(d.FullName, "samples", "data", "amazon_fine_foods.csv");
                if (File.Exists(path)) return path;
                string packed = Path.Combine(d.FullName, "data", "amazon_fine_foods.csv");
                if (File.Exists(packed)) return packed;
            }
        throw new FileNotFoundException("The bundled samples/data/amazon_fine_foods.csv was not found: give --dataset.");
    }

    internal static int Run(ExperimentOptions options, string output)
    {
        if (File.Exists(output)) throw new ArgumentException($"--output '{output}' is a file: give a folder for the experiment's outputs.");
        var ml = new MLContext(seed: options.Data.Seed);
        var rows = new List<string[]>();
        ExperimentResult result = null!;
        string? movedAside = null;
        var table = new Table().AddColumns("trial", "candidate", "status", "metric", "epochs", "seconds", "parameters");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string best = "none yet";
        // Budget used, time left and the best trial so far, under the live table or after each finished trial.
        string Status() => $"budget {clock.Elapsed.TotalSeconds:F0} of {options.TrainTime.TotalSeconds:F0} s used, " +
                           $"{Math.Max(0, options.TrainTime.TotalSeconds - clock.Elapsed.TotalSeconds):F0} s left; best: {best}";
        void Apply(ExperimentEvent e)
        {
            if (e is ExperimentEvent.NewBest nb) best = $"trial {nb.TrialId} {nb.Candidate} {nb.Metric:F4}";
            switch (e)
            {
                case ExperimentEvent.TrialStarted s:
                    rows.Add([$"{s.TrialId}", s.Candidate, "running", "", "0", "", Markup.Escape(s.Parameters.ToString())]);
                    break;
                case ExperimentEvent.EpochEnded ep when Row(ep.TrialId) is { } r:
                    r[4] = $"{ep.Epoch}"; r[3] = $"{ep.Metric:F4}";
                    break;
                case ExperimentEvent.TrialCompleted c when Row(c.TrialId) is { } r:
                    r[2] = "completed"; r[3] = $"{c.Metric:F4}"; r[5] = $"{c.Seconds:F1}";
                    break;
                case ExperimentEvent.TrialPruned p when Row(p.TrialId) is { } r:
                    r[2] = $"pruned ({p.Why})";
                    break;
                case ExperimentEvent.TrialStopped st when Row(st.TrialId) is { } r:
                    r[2] = "stopped (budget)"; r[6] = Markup.Escape(st.Why);
                    break;
                case ExperimentEvent.TrialFailed f when Row(f.TrialId) is { } r:
                    r[2] = "[red]failed[/]"; r[6] = Markup.Escape(f.Error);
                    break;
                case ExperimentEvent.NewBest b when Row(b.TrialId) is { } r:
                    r[2] = "[green]best[/]";
                    break;
                case ExperimentEvent.EarlierRunMovedAside m:
                    movedAside = m.Folder;
                    break;
            }
        }
        string[]? Row(int id) => rows.LastOrDefault(r => r[0] == $"{id}");

        if (AnsiConsole.Profile.Capabilities.Interactive)
        {
            try
            {
                AnsiConsole.Live(table).Start(ctx =>
                {
                    var events = new InlineProgress<ExperimentEvent>(e =>
                    {
                        Apply(e);
                        table.Rows.Clear();
                        foreach (var r in rows.TakeLast(25)) table.AddRow(r);
                        table.Caption(Markup.Escape(Status()));
                        ctx.Refresh();
                    });
                    result = TextExperiment.Run(ml, options with { Events = events }, output);
                });
            }
            finally
            {
                // Said after the live table, and also when the run then fails: the user looks for the earlier outputs.
                if (movedAside is not null) AnsiConsole.WriteLine(Describe(new ExperimentEvent.EarlierRunMovedAside(movedAside)));
            }
        }
        else
        {
            var events = new InlineProgress<ExperimentEvent>(e =>
            {
                Apply(e);
                if (e is not ExperimentEvent.EpochEnded) AnsiConsole.MarkupLine(Markup.Escape(Describe(e)));
                if (e is ExperimentEvent.TrialCompleted or ExperimentEvent.TrialPruned or ExperimentEvent.TrialFailed or ExperimentEvent.TrialStopped) AnsiConsole.MarkupLine(Markup.Escape("  " + Status()));
            });
            result = TextExperiment.Run(ml, options with { Events = events }, output);
        }
        ExperimentOutputs.Write(ml, result, output, $"mlnet-llm experiment on {Path.GetFileName(options.Data.Dataset)}");
        var m = result.TestMetrics;
        AnsiConsole.MarkupLineInterpolated($"best: [green]{result.BestTrial.Parameters.GetString(TextExperiment.CandidateKey)}[/] (trial {result.BestTrial.Id}, validation {result.MetricName} {result.BestTrial.Metric:F4}); test: {(m.Accuracy is { } a ? $"accuracy {a:F4}, macro-F1 {m.MacroF1:F4}" : $"R² {m.RSquared:F4}, MAE {m.Mae:F4}")}");
        if (result.Refit is { } f)
            AnsiConsole.MarkupLineInterpolated($"refitted on all {f.Rows} training rows in {f.Seconds:F1} s (test before the refit: {(f.TestMetricsBeforeRefit.Accuracy is { } b ? $"accuracy {b:F4}" : $"R² {f.TestMetricsBeforeRefit.RSquared:F4}")})");
        AnsiConsole.MarkupLineInterpolated($"wrote {output}/model.zip, metrics.json, trials.csv, report.html ({result.Trials.Count} trials in {result.TotalSeconds:F0} s)");
        return 0;
    }

    private static string Describe(ExperimentEvent e) => e.Describe() ?? e.ToString();

    private static AutoMl.TunerKind ParseTuner(string value) => CliOptions.ParseChoice("--tuner", value,
        ("cfo", AutoMl.TunerKind.Cfo), ("random", AutoMl.TunerKind.Random), ("grid", AutoMl.TunerKind.Grid), ("tpe", AutoMl.TunerKind.Tpe));
}

public sealed class ClassificationCommand() : ExperimentCommandBase("classification", "classification", "AutoML over text classification pipelines (classical, LSTM, transformers) under a time budget.");

public sealed class RegressionCommand() : ExperimentCommandBase("regression", "regression", "AutoML over text regression pipelines under a time budget.");
