using System.CommandLine;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Modeling.Pretraining;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;
using Spectre.Console;

namespace MlNetLlm.Cli.Commands;

/// <summary>
/// <c>mlnet-llm pretrain</c>: masked-language-model training on the unlabeled texts of a CSV column, continuing a
/// checkpoint (domain-adaptive pretraining) or a small BERT from scratch. The output folder is a save_pretrained
/// folder that <c>train --encoder checkpoint:DIR</c>, <c>classification --checkpoint DIR</c> and <c>embed --model</c>
/// read; a run stopped by Ctrl+C or a crash continues from its last save with <c>--resume</c>.
/// </summary>
public sealed class PretrainCommand : ICliCommand
{
    public Command Build()
    {
        var model = new Option<string>("--model") { Description = "minilm | arctic-xs | a checkpoint folder (continued pretraining) | none (a small BERT from scratch).", DefaultValueFactory = _ => "minilm" };
        var dataset = CliOptions.Required("--dataset", "CSV of unlabeled text (header row).");
        var text = new Option<string[]>("--text-col") { Description = "Text column; give it again to add another column's texts.", Required = true, AllowMultipleArgumentsPerToken = false };
        var output = CliOptions.Required("--output", "New or empty folder for the pretrained model (save_pretrained layout, BertForMaskedLM).");
        var steps = new Option<int?>("--steps") { Description = "Optimizer steps in all (or --epochs)." };
        var epochs = new Option<int?>("--epochs") { Description = "Passes over the text (default 1 when --steps is not given)." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --output from its last save (same options and data)." };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 16 };
        var lr = new Option<double?>("--learning-rate") { Description = "Peak learning rate (default 5e-5 continuing a checkpoint, 5e-4 from scratch)." };
        var maxLength = new Option<int>("--max-length") { Description = "Tokens per sequence; longer texts are cut into several.", DefaultValueFactory = _ => 128 };
        var maskProbability = new Option<double>("--mask-probability") { Description = "Share of tokens to predict (BERT: 0.15).", DefaultValueFactory = _ => 0.15 };
        var wholeWord = new Option<bool>("--whole-word-masking") { Description = "Mask a word's WordPiece pieces together." };
        var validation = new Option<double>("--validation-fraction") { Description = "Share of the texts held out to report the masked-LM loss and accuracy at each save." };
        var saveEvery = new Option<int>("--save-every") { Description = "Steps between saves (a killed run loses at most these).", DefaultValueFactory = _ => 200 };
        var layers = new Option<int>("--layers") { Description = "From scratch (--model none): encoder layers.", DefaultValueFactory = _ => 2 };
        var hidden = new Option<int>("--hidden-size") { Description = "From scratch: hidden size.", DefaultValueFactory = _ => 128 };
        var heads = new Option<int>("--heads") { Description = "From scratch: attention heads.", DefaultValueFactory = _ => 4 };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "From scratch: use this checkpoint's (folder or bundled name) WordPiece tokenizer instead of a word vocabulary built from the text." };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var device = CliOptions.Device();
        var threads = CliOptions.Threads();
        var precision = CliOptions.Precision();
        var separator = CliOptions.Separator();

        var cmd = new Command("pretrain", "Masked-language-model pretraining on unlabeled text: continue a checkpoint on your domain's text, or train a small BERT from scratch.")
        {
            model, dataset, text, output, steps, epochs, resume, batch, lr, maxLength, maskProbability, wholeWord, validation, saveEvery,
            layers, hidden, heads, tokenizer, seed, device, threads, precision, separator,
        };
        cmd.SetAction((parse, ct) => Task.FromResult(CliErrors.Run(() =>
        {
            string modelName = parse.GetValue(model)!;
            bool scratch = modelName.Equals("none", StringComparison.OrdinalIgnoreCase);
            if (!scratch)
                CliOptions.RefuseGiven(parse, $"shape a model trained from scratch (--model none); --model {modelName} keeps its own shape and tokenizer", layers, hidden, heads, tokenizer);
            var options = new MaskedLmOptions
            {
                CheckpointPath = scratch ? null : modelName,
                OutputFolder = parse.GetRequiredValue(output),
                Resume = parse.GetValue(resume),
                Steps = parse.GetValue(steps),
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batch),
                LearningRate = parse.GetValue(lr),
                MaxLength = parse.GetValue(maxLength),
                MaskProbability = parse.GetValue(maskProbability),
                WholeWordMasking = parse.GetValue(wholeWord),
                ValidationFraction = parse.GetValue(validation),
                SaveEverySteps = parse.GetValue(saveEvery),
                Layers = parse.GetValue(layers),
                HiddenSize = parse.GetValue(hidden),
                Heads = parse.GetValue(heads),
                TokenizerPath = parse.GetValue(tokenizer),
                Seed = parse.GetValue(seed),
                Device = DeviceOptions.Parse(parse.GetValue(device)!, parse.GetValue(threads)),
                Precision = parse.GetValue(precision),
            };
            return Pretrain(options, parse.GetRequiredValue(dataset), parse.GetRequiredValue(text), parse.GetValue(separator), ct);
        })));
        return cmd;
    }

    internal static int Pretrain(MaskedLmOptions options, string datasetPath, string[] textColumns, char? separator, CancellationToken ct = default)
    {
        options.Validate(); // option errors before the data is read
        var table = CsvTable.Load(datasetPath, separator);
        var columns = textColumns.Select(c => table.ColumnIndex(c, "--text-col")).ToList();
        var texts = table.Rows.SelectMany(r => columns.Select(i => r[i])).Where(t => !string.IsNullOrWhiteSpace(t)).ToList();
        if (texts.Count == 0)
            throw new ArgumentException($"--dataset '{datasetPath}' has no text in --text-col {string.Join(", ", textColumns)}: nothing to pretrain on.");

        AnsiConsole.MarkupLineInterpolated($"[grey]{(options.Resume ? "resuming" : "pretraining")} {options.CheckpointPath ?? "a BERT from scratch"} on {texts.Count} texts from {datasetPath}...[/]");
        MaskedLmProgress? last = null;
        MaskedLmResult result;
        try
        {
            if (AnsiConsole.Profile.Capabilities.Interactive)
            {
                result = null!;
                AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn()).Start(ctx =>
                {
                    var bar = ctx.AddTask("pretraining", maxValue: 1);
                    result = MaskedLmTrainer.Train(options, texts, new InlineProgress<MaskedLmProgress>(p =>
                    {
                        last = p;
                        bar.MaxValue = p.TotalSteps;
                        bar.Value = p.Step;
                        bar.Description = $"step {p.Step}/{p.TotalSteps} loss {p.Loss:F3} masked acc {p.MaskedAccuracy:P1}";
                        if (p.Saved) AnsiConsole.MarkupLine(Line(p));
                    }), ct);
                });
            }
            else
            {
                // Plain lines where there is no terminal to redraw: every save, and about every tenth of the run.
                result = MaskedLmTrainer.Train(options, texts, new InlineProgress<MaskedLmProgress>(p =>
                {
                    last = p;
                    if (p.Saved || p.Step % Math.Max(1, p.TotalSteps / 10) == 0) AnsiConsole.MarkupLine(Line(p));
                }), ct);
            }
        }
        catch (OperationCanceledException)
        {
            string where = last is null ? "before its first step" : $"at step {last.Step} of {last.TotalSteps}";
            AnsiConsole.MarkupLineInterpolated($"[red]interrupted[/] {where}: continue from the last save in {options.OutputFolder} with the same command and --resume.");
            return 130;
        }
        AnsiConsole.MarkupLineInterpolated(
            $"pretrained {result.Model}: {result.StepsThisRun} steps this run ({result.Steps} of {result.TotalSteps}), {result.Sequences} sequences / {result.Tokens} tokens ({result.SkippedTexts} texts skipped), {result.Precision}, {result.Seconds:F0} s");
        AnsiConsole.MarkupLineInterpolated($"wrote [green]{result.OutputFolder}[/]: use it as train --encoder checkpoint:{result.OutputFolder}");
        return 0;
    }

    private static string Line(MaskedLmProgress p) => Markup.Escape(
        $"step {p.Step}/{p.TotalSteps}: loss {p.Loss:F4}, masked accuracy {p.MaskedAccuracy:P1}, lr {p.LearningRate:G3}" +
        (p.ValidationLoss is { } vl ? $", validation loss {vl:F4}, accuracy {p.ValidationAccuracy:P1}" : "") +
        $" ({p.Elapsed.TotalSeconds:F0} s{(p.Remaining is { } r && r > TimeSpan.Zero ? $", about {r.TotalSeconds:F0} s left" : "")}{(p.Saved ? ", saved" : "")})");
}
