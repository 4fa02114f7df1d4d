using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.AI;
using MlNetLlm.LlmClients;
using MlNetLlm.Transforms.FeatureSelection;
using Spectre.Console;

namespace MlNetLlm.Cli.Commands;

/// <summary>
/// <c>mlnet-llm select-features</c>: scores a CSV's columns for a binary, multiclass or regression label with an LLM
/// (LLM-Score), a local sentence encoder's similarity, data evidence or a cross-validated blend, and writes selection.csv, selection.md and a model.zip whose transformer outputs the
/// kept columns as a Features vector.
/// </summary>
public sealed class SelectFeaturesCommand : ICliCommand
{
    /// <summary>Environment variable read when --llm is not given (same spec).</summary>
    public const string LlmVariable = "MLNETLLM_LLM";

    public Command Build()
    {
        var dataset = CliOptions.Required("--dataset", "Training CSV (header row).");
        var label = CliOptions.Required("--label-col", "Label column: binary, multiclass or a number (regression).");
        var labelKind = new Option<string>("--label-kind") { Description = "auto | binary | multiclass | regression (auto: two values = binary, numbers = regression unless <= 10 integer classes, text = multiclass).", DefaultValueFactory = _ => "auto" };
        var task = new Option<string?>("--task") { Description = "What is predicted and why, in plain words (needed for llm and blend modes)." };
        var descriptions = new Option<string?>("--descriptions") { Description = "Column descriptions: JSON {\"column\": \"description\"} or CSV with 'column' and 'description' columns." };
        var keep = new Option<int?>("--keep") { Description = "Keep the top K columns." };
        var keepFraction = new Option<double?>("--keep-fraction") { Description = "Keep this fraction (0-1] of the usable columns (default 0.5)." };
        var threshold = new Option<double?>("--threshold") { Description = "Keep columns whose final score is at least this (0-1)." };
        var mode = new Option<string?>("--mode") { Description = "llm | data | blend (default: blend with an LLM, data without)." };
        var llm = new Option<string?>("--llm") { Description = $"ollama:MODEL[@URL], openai:MODEL[@URL] (key from OPENAI_API_KEY), gguf:PATH (a local model file through LLamaSharp) or local[:arctic-xs|minilm|FOLDER] (a bundled sentence encoder's similarity, no endpoint); default ${LlmVariable}." };
        var featureCols = new Option<string[]>("--feature-cols") { Description = "Candidate columns (default: all but the label).", AllowMultipleArgumentsPerToken = true };
        var textCols = new Option<string[]>("--text-cols") { Description = "Columns to featurize as free text (other text columns are categorical).", AllowMultipleArgumentsPerToken = true };
        var positive = new Option<string?>("--positive-class") { Description = "The label value that is the positive class (wording only)." };
        var evidence = new Option<string>("--evidence") { Description = "Data evidence: l1 | mi | both.", DefaultValueFactory = _ => "l1" };
        var batch = new Option<int>("--batch-size") { Description = "Columns per LLM prompt.", DefaultValueFactory = _ => 25 };
        // Defaults fit an interactive command: an endpoint that accepts and never answers costs --llm-budget at most, then
        // the data evidence is used alone (said in the report).
        var timeout = new Option<double>("--timeout") { Description = "Seconds per LLM request (default 30); a reply not complete by then counts as none.", DefaultValueFactory = _ => 30 };
        var llmBudget = new Option<double>("--llm-budget") { Description = "Seconds for all LLM requests together (default 120); after that the data evidence is used alone.", DefaultValueFactory = _ => 120 };
        var retries = new Option<int>("--retries") { Description = "Retries per prompt after a bad or missing reply.", DefaultValueFactory = _ => 2 };
        var cacheDir = new Option<string?>("--cache-dir") { Description = "LLM reply cache folder (default: under the user's local app data)." };
        var noCache = new Option<bool>("--no-cache") { Description = "Do not read or write the LLM reply cache." };
        var folds = new Option<int>("--folds") { Description = "Cross-validation folds for the blend weight.", DefaultValueFactory = _ => 5 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 42 };
        var output = CliOptions.Required("--output", "Folder for selection.csv, selection.md and model.zip.");
        var separator = CliOptions.Separator();

        var cmd = new Command("select-features", "Select feature columns for a binary, multiclass or regression label with an LLM's judgement (or a local encoder's similarity), data evidence, or a cross-validated blend.")
        {
            dataset, label, labelKind, task, descriptions, keep, keepFraction, threshold, mode, llm, featureCols, textCols, positive, evidence, batch, timeout, llmBudget, retries,
            cacheDir, noCache, folds, seed, output, separator,
        };
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            string? spec = parse.GetValue(llm) ?? Environment.GetEnvironmentVariable(LlmVariable);
            if (string.IsNullOrWhiteSpace(spec)) spec = null;
            var options = new LlmFeatureSelectionEstimator.Options
            {
                LabelColumnName = parse.GetRequiredValue(label),
                LabelKind = ParseLabelKind(parse.GetValue(labelKind)!),
                FeatureColumnNames = parse.GetValue(featureCols) ?? [],
                TextColumnNames = parse.GetValue(textCols) ?? [],
                TaskDescription = parse.GetValue(task) ?? "",
                Mode = ParseMode(parse.GetValue(mode), spec is not null),
                DataEvidence = ParseEvidence(parse.GetValue(evidence)!),
                KeepCount = parse.GetValue(keep),
                KeepFraction = parse.GetValue(keepFraction),
                ScoreThreshold = parse.GetValue(threshold),
                PositiveLabel = parse.GetValue(positive),
                BatchSize = parse.GetValue(batch),
                RequestTimeout = TimeSpan.FromSeconds(Positive(parse.GetValue(timeout), "--timeout")),
                LlmTimeBudget = TimeSpan.FromSeconds(Positive(parse.GetValue(llmBudget), "--llm-budget")),
                MaxRetries = parse.GetValue(retries),
                CrossValidationFolds = parse.GetValue(folds),
                Seed = parse.GetValue(seed),
                CacheDirectory = parse.GetValue(noCache) ? null : parse.GetValue(cacheDir) ?? LlmFeatureSelectionEstimator.Options.DefaultCacheDirectory,
                Log = m => AnsiConsole.MarkupLineInterpolated($"[grey]{m}[/]"),
            };
            if (parse.GetValue(descriptions) is { } d) options.ColumnDescriptions = FeatureSelectionFiles.LoadDescriptions(d);
            return Select(parse.GetRequiredValue(dataset), parse.GetRequiredValue(output), options, spec, parse.GetValue(separator));
        }));
        return cmd;
    }

    internal static int Select(string datasetPath, string outputDir, LlmFeatureSelectionEstimator.Options options, string? llmSpec, char? separator = null)
    {
        // Checked before any LLM request is paid for.
        if (File.Exists(outputDir)) throw new ArgumentException($"--output '{outputDir}' is a file: give a folder for selection.csv, selection.md and model.zip.");
        foreach (var name in new[] { "selection.csv", "selection.md", "model.zip" })
            OutputFiles.Check("--output", Path.Combine(outputDir, name), ("--dataset", datasetPath));
        if (options.KeepCount is not null && options.KeepFraction is not null || (options.KeepCount ?? options.KeepFraction) is not null && options.ScoreThreshold is not null)
            throw new ArgumentException("Give only one of --keep, --keep-fraction and --threshold.");
        IChatClient? client = null;
        if (llmSpec is not null && LocalPrior(llmSpec) is { } local)
        {
            if (options.Mode != FeatureSelectionMode.Data) options.LocalPrior = local;
            AnsiConsole.MarkupLineInterpolated($"[grey]Language prior: local sentence encoder {local} (a semantic similarity of names and descriptions to the task, no endpoint)[/]");
        }
        else if (llmSpec is null)
            AnsiConsole.MarkupLine(options.Mode == FeatureSelectionMode.Data
                ? $"[yellow]No LLM configured (--llm or ${LlmVariable}): running data mode.[/]"
                : $"[yellow]No LLM configured (--llm or ${LlmVariable}): {options.Mode.ToString().ToLowerInvariant()} mode falls back to data mode.[/]");
        else if (options.Mode != FeatureSelectionMode.Data)
        {
            client = LlmChatClients.Create(llmSpec);
            AnsiConsole.MarkupLineInterpolated($"[grey]LLM: {llmSpec}[/]");
        }
        using (client)
        {
            var run = FeatureSelectionFiles.Run(datasetPath, outputDir, options, client, separator);
            Print(run.Transformer.Report);
            AnsiConsole.MarkupLineInterpolated($"wrote [green]{run.CsvPath}[/], [green]{run.MarkdownPath}[/] and [green]{run.ModelPath}[/]");
        }
        return 0;
    }

    private static void Print(FeatureSelectionReport r)
    {
        if (r.CrossValidation.Count > 0)
            Console.Out.WriteLine($"cross-validated {r.CrossValidationMetric ?? "score"} by LLM weight: " + string.Join(", ", r.CrossValidation.Select(c =>
                $"{c.Weight.ToString("0.00", CultureInfo.InvariantCulture)} -> {c.MeanScore.ToString("0.0000", CultureInfo.InvariantCulture)}")));
        // Plain fixed-width text: a rich table wraps column names and reasons badly in an 80-column terminal or a log.
        Console.Out.Write(r.ToString());
    }

    /// <summary>The encoder of <c>local[:MODEL]</c> (arctic-xs by default: trained for query → passage retrieval), or null for any other spec.</summary>
    internal static string? LocalPrior(string spec)
    {
        string s = spec.Trim();
        if (s.Equals("local", StringComparison.OrdinalIgnoreCase)) return "arctic-xs";
        if (!s.StartsWith("local:", StringComparison.OrdinalIgnoreCase)) return null;
        string model = s["local:".Length..].Trim();
        return model.Length > 0 ? model : throw new ArgumentException($"--llm '{spec}': the model after 'local:' is missing (arctic-xs, minilm or a checkpoint folder).");
    }

    private static LabelKind ParseLabelKind(string kind) => kind.Trim().ToLowerInvariant() switch
    {
        "auto" => LabelKind.Auto,
        "binary" => LabelKind.Binary,
        "multiclass" => LabelKind.Multiclass,
        "regression" => LabelKind.Regression,
        _ => throw new ArgumentException($"--label-kind '{kind}': expected auto, binary, multiclass or regression."),
    };

    private static FeatureSelectionMode ParseMode(string? mode, bool haveLlm) => mode?.Trim().ToLowerInvariant() switch
    {
        null or "" => haveLlm ? FeatureSelectionMode.Blend : FeatureSelectionMode.Data,
        "llm" => FeatureSelectionMode.Llm,
        "data" => FeatureSelectionMode.Data,
        "blend" => FeatureSelectionMode.Blend,
        _ => throw new ArgumentException($"--mode '{mode}': expected llm, data or blend."),
    };

    private static DataEvidenceKind ParseEvidence(string evidence) => evidence.Trim().ToLowerInvariant() switch
    {
        "both" => DataEvidenceKind.Both,
        "mi" or "mutual-information" => DataEvidenceKind.MutualInformation,
        "l1" => DataEvidenceKind.L1,
        _ => throw new ArgumentException($"--evidence '{evidence}': expected l1, mi or both."),
    };

    private static double Positive(double v, string option) =>
        v > 0 ? v : throw new ArgumentException($"{option} must be positive (got {v.ToString(CultureInfo.InvariantCulture)}).");
}
