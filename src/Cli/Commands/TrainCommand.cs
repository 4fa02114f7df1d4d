using System.CommandLine;
using System.Text.Json;
using Microsoft.ML;
using MlNetLlm.Estimators;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;
using Spectre.Console;

namespace MlNetLlm.Cli.Commands;

/// <summary><c>mlnet-llm train</c>: one encoder on one CSV, writing model.zip and metrics.json.</summary>
public sealed class TrainCommand : ICliCommand
{
    public Command Build()
    {
        var dataset = CliOptions.Required("--dataset", "Training CSV (header row; quoted fields may hold commas and newlines).");
        var label = CliOptions.Required("--label-col", "Label column.");
        var text = new Option<string[]>("--text-col") { Description = "Text column; give it twice for sentence pairs.", Required = true, AllowMultipleArgumentsPerToken = false };
        var testDataset = new Option<string?>("--test-dataset") { Description = "Test CSV; otherwise --test-fraction of the data is held out." };
        var splitCol = new Option<string?>("--split-col") { Description = "Column whose value 'test' marks test rows (a given split)." };
        var testFraction = new Option<double>("--test-fraction") { Description = "Hold-out fraction (stratified for classification).", DefaultValueFactory = _ => 0.2 };
        var encoder = new Option<string>("--encoder") { Description = "lstm | transformer | tfidf | wordvec (needs --glove) | checkpoint:DIR", DefaultValueFactory = _ => "lstm" };
        var task = new Option<string>("--task") { Description = "auto | multiclass | binary | regression", DefaultValueFactory = _ => "auto" };
        var positive = new Option<string?>("--positive-class") { Description = "Binary: the class that is 'true' (default: the second in ordinal order)." };
        var maxClasses = new Option<int?>("--max-classes") { Description = "Keep only the N most frequent classes." };
        var glove = new Option<string?>("--glove") { Description = "GloVe text file (.txt/.txt.gz) for the LSTM's embeddings." };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 3 };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 16 };
        var lr = new Option<double?>("--learning-rate") { Description = "Default depends on the encoder." };
        var maxLength = new Option<int>("--max-length") { DefaultValueFactory = _ => 128 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var device = CliOptions.Device();
        var threads = CliOptions.Threads();
        var precision = CliOptions.Precision();
        var output = CliOptions.Required("--output", "Folder for model.zip and metrics.json.");
        var separator = CliOptions.Separator();

        var cmd = new Command("train", "Train a text classifier or regressor and evaluate it on held-out data.")
        {
            dataset, label, text, testDataset, splitCol, testFraction, encoder, task, positive, maxClasses, glove, epochs, batch, lr, maxLength, seed, device, threads, precision, output, separator,
        };
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            string encoderName = parse.GetValue(encoder)!;
            if (encoderName is "tfidf" or "wordvec")
                CliOptions.RefuseGiven(parse, $"trains the neural encoders (lstm, transformer, checkpoint:DIR), not --encoder {encoderName}", epochs, batch, lr, maxLength, device, threads);
            if (parse.GetValue(testDataset) is not null || parse.GetValue(splitCol) is not null)
                CliOptions.RefuseGiven(parse, "holds out test rows when neither --test-dataset nor --split-col gives them", testFraction);
            // Built inside CliErrors.Run: a bad --device is one line, not a stack trace.
            var options = new TextJobOptions
            {
                Dataset = parse.GetRequiredValue(dataset),
                Separator = parse.GetValue(separator),
                LabelColumn = parse.GetRequiredValue(label),
                TextColumns = parse.GetRequiredValue(text),
                TestDataset = parse.GetValue(testDataset),
                TestFraction = parse.GetValue(testFraction),
                SplitColumn = parse.GetValue(splitCol),
                Encoder = parse.GetValue(encoder)!,
                Task = ParseTask(parse.GetValue(task)!),
                PositiveClass = parse.GetValue(positive),
                MaxClasses = parse.GetValue(maxClasses),
                GlovePath = parse.GetValue(glove),
                Seed = parse.GetValue(seed),
                Trainer = new TextTrainerOptions
                {
                    Epochs = parse.GetValue(epochs),
                    BatchSize = parse.GetValue(batch),
                    LearningRate = parse.GetValue(lr),
                    MaxLength = parse.GetValue(maxLength),
                    Device = DeviceOptions.Parse(parse.GetValue(device)!, parse.GetValue(threads)),
                    Precision = parse.GetValue(precision),
                },
            };
            return Train(options, parse.GetRequiredValue(output));
        }));
        return cmd;
    }

    internal static int Train(TextJobOptions options, string outputDir)
    {
        var trainer = options.Trainer ?? new TextTrainerOptions(); // the progress reporters below go on it
        options = options with { Trainer = trainer };
        // The folder is made when the results are written, so a failed run leaves none behind.
        if (File.Exists(outputDir)) throw new ArgumentException($"--output '{outputDir}' is a file: give a folder for model.zip and metrics.json.");
        foreach (var name in new[] { "model.zip", "metrics.json" })
            OutputFiles.Check("--output", Path.Combine(outputDir, name), ("--dataset", options.Dataset), ("--test-dataset", options.TestDataset), ("--glove", options.GlovePath));
        var ml = new MLContext(seed: options.Seed);
        TextTrainingJob.Result result = null!;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (options.Encoder == "tfidf" || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            // Plain lines where there is no terminal to redraw (CI, pipes); the time left is the mean epoch so far times the epochs to go.
            trainer.EpochProgress = new InlineProgress<EpochReport>(r => AnsiConsole.MarkupLineInterpolated(
                $"epoch {r.Epoch}/{r.Epochs}: train loss {r.TrainLoss:F4}{(r.ValidationMetric is { } v ? $", {r.MetricName} {v:F4}" : "")} ({r.Seconds:F1} s{(r.Epoch < r.Epochs ? $", about {clock.Elapsed.TotalSeconds / r.Epoch * (r.Epochs - r.Epoch):F0} s left" : "")})"));
            AnsiConsole.MarkupLineInterpolated($"[grey]training {options.Encoder} on {options.Dataset}...[/]");
            result = TextTrainingJob.Run(ml, options);
        }
        else
        {
            // One bar over every batch of every epoch, so the remaining-time column estimates the whole training.
            AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn()).Start(ctx =>
            {
                var training = ctx.AddTask("training", maxValue: trainer.Epochs);
                trainer.BatchProgress = new InlineProgress<BatchReport>(b =>
                {
                    training.MaxValue = (double)b.BatchesPerEpoch * trainer.Epochs;
                    training.Value = (double)(b.Epoch - 1) * b.BatchesPerEpoch + b.Batch;
                    training.Description = $"epoch {b.Epoch}/{trainer.Epochs} batch {b.Batch}/{b.BatchesPerEpoch} loss {b.Loss:F3}";
                });
                trainer.EpochProgress = new InlineProgress<EpochReport>(r =>
                    AnsiConsole.MarkupLineInterpolated($"epoch {r.Epoch}/{r.Epochs}: train loss {r.TrainLoss:F4}{(r.ValidationMetric is { } v ? $", {r.MetricName} {v:F4}" : "")} ({r.Seconds:F1} s)"));
                result = TextTrainingJob.Run(ml, options);
                training.Value = training.MaxValue;
            });
        }
        string zip = Path.Combine(outputDir, "model.zip");
        OutputFiles.WriteAtomically(zip, temp => ml.Model.Save(result.Model, result.InputSchema, temp));
        string metricsPath = Path.Combine(outputDir, "metrics.json");
        OutputFiles.WriteAtomically(metricsPath, temp => File.WriteAllText(temp, JsonSerializer.Serialize(result.Metrics, CliJson.Options)));
        var m = result.Metrics;
        var table = new Table().AddColumns("metric", "value");
        void Row(string name, double? v) { if (v is { } x) table.AddRow(name, x.ToString("F4")); }
        if (m.UnseenLabelRows is { } unseen)
            AnsiConsole.MarkupLineInterpolated($"[yellow]{unseen} test rows have a label that never occurred in training: they count as wrong.[/]");
        Row("accuracy", m.Accuracy); Row("macroF1", m.MacroF1); Row("logLoss", m.LogLoss); Row("auc", m.Auc); Row("rSquared", m.RSquared); Row("mae", m.Mae);
        table.AddRow("trainSeconds", m.TrainSeconds.ToString("F1"));
        if (m.Precision is { } p) table.AddRow("precision", p);
        table.AddRow("rows (train/test)", $"{m.Rows}/{m.TestRows}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"wrote [green]{zip}[/] and [green]{metricsPath}[/]");
        return 0;
    }
    private static TaskKind? ParseTask(string value) => CliOptions.ParseChoice<TaskKind?>("--task", value,
        ("auto", null), ("multiclass", TaskKind.Multiclass), ("binary", TaskKind.Binary), ("regression", TaskKind.Regression));
}
