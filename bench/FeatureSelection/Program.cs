// Evaluation of LLM feature selection (README "LLM feature selection"): for each real table, the test metric of a
// downstream LightGbm and a linear model against the fraction of columns kept (AUROC for binary labels, macro
// one-vs-rest AUROC for multiclass, R² for regression), for random, mutual-information and L1 rankings, the local
// language prior (the bundled arctic-xs encoder's similarity of names and descriptions to the task) alone and blended
// with the data (cross-validated weight), plus an LLM's llm and blend modes when MLNETLLM_LLM names an endpoint
// (ollama:MODEL[@URL], openai:MODEL[@URL] or gguf:PATH). Stratified 70/30 splits, repeated; every ranking sees
// training rows only.
//
//   dotnet run -c Release --project bench/FeatureSelection [-- --reps N] [--datasets breast,pima,...] [--no-local]
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.AI;
using Microsoft.ML;
using MlNetLlm.Bench.FeatureSelection;
using MlNetLlm.LlmClients;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Training;
using MlNetLlm.Transforms.Embeddings;
using MlNetLlm.Transforms.FeatureSelection;

int reps = 5;
string? only = null;
bool useLocal = true;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--reps" && i + 1 < args.Length) reps = int.Parse(args[++i], CultureInfo.InvariantCulture);
    else if (args[i] == "--datasets" && i + 1 < args.Length) only = args[++i];
    else if (args[i] == "--no-local") useLocal = false;
    else { Console.Error.WriteLine($"unknown argument '{args[i]}'; usage: [--reps N] [--datasets {string.Join(",", Dataset.All.Select(d => d.Key))}] [--no-local]"); return 2; }
}
string dataDir = FindDataDir();
string? llmSpec = Environment.GetEnvironmentVariable("MLNETLLM_LLM");
IChatClient? llm = string.IsNullOrWhiteSpace(llmSpec) ? null : LlmChatClients.Create(llmSpec);
// One encoder for the whole run (loading it per fit would dominate the time).
using var local = useLocal
    ? TransformerEmbeddingGenerator.FromCheckpoint(CheckpointLocator.Resolve("arctic-xs"), new TextEmbeddingOptions { Normalize = true, Pooling = Pooling.Cls })
    : null;
double[] fractions = Enumerable.Range(1, 10).Select(i => i / 10.0).ToArray();
// L1 is also the estimator's data mode (its default evidence), what blend starts from; "MI+L1" is DataEvidence = Both.
var methods = new List<string> { "random", "MI", "L1", "MI+L1" };
if (local is not null) methods.AddRange(["local", "blend"]);
if (llm is not null) methods.AddRange(["llm", "blend-llm"]);
string[] learners = ["LightGbm", "Linear"];
var datasets = Dataset.All.Where(d => only is null || only.Split(',').Contains(d.Key)).ToList();

Console.WriteLine("# LLM feature selection: test metric vs fraction of columns kept");
Console.WriteLine();
Console.WriteLine($"{reps} stratified 70/30 splits per table (seeds 0..{reps - 1}), mean test metric (AUROC for binary labels, macro one-vs-rest AUROC " +
                  "for multiclass, R² for regression); rankings from training rows only. Learners: LightGbm (ML.NET defaults) and a linear model " +
                  "(L-BFGS logistic / maximum entropy, least squares for regression; normalised features). " +
                  $"local = the arctic-xs encoder's similarity of column names and descriptions to the task; blend = that prior blended with L1 under the cross-validated weight. " +
                  $"LLM: {(llm is null ? "none (set MLNETLLM_LLM for the llm and blend-llm columns)" : llmSpec)}. " +
                  $"{Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd}.");
var total = Stopwatch.StartNew();
var summary = new List<(Dataset Ds, string Line)>();
var blendChecks = new List<string>();
foreach (var ds in datasets)
{
    var clock = Stopwatch.StartNew();
    var data = new Table(CsvTable.Load(Path.Combine(dataDir, ds.File)), ds);
    // score[method][learner][fraction] summed over repetitions
    var score = methods.ToDictionary(m => m, _ => learners.ToDictionary(l => l, _ => new double[fractions.Length]));
    int blendFits = 0, trusted = 0, lost = 0;
    for (int rep = 0; rep < reps; rep++)
    {
        var (train, test) = data.StratifiedSplit(0.3, rep);
        var trainView = data.View(train);
        var testView = data.View(test);
        var rankings = new Dictionary<string, List<string>>
        {
            ["random"] = Shuffled(data.Columns, 1000 + rep),
            ["MI"] = Rank(Fit(trainView, ds, DataEvidenceKind.MutualInformation, FeatureSelectionMode.Data, null, null, rep, null)),
            ["L1"] = Rank(Fit(trainView, ds, DataEvidenceKind.L1, FeatureSelectionMode.Data, null, null, rep, null)),
            ["MI+L1"] = Rank(Fit(trainView, ds, DataEvidenceKind.Both, FeatureSelectionMode.Data, null, null, rep, null)),
        };
        if (local is not null) rankings["local"] = Rank(Fit(trainView, ds, DataEvidenceKind.L1, FeatureSelectionMode.Llm, null, local, rep, null));
        if (llm is not null) rankings["llm"] = Rank(Fit(trainView, ds, DataEvidenceKind.L1, FeatureSelectionMode.Llm, llm, null, rep, null));
        var cacheByColumns = new Dictionary<string, double[]>();
        for (int fi = 0; fi < fractions.Length; fi++)
        {
            int k = Kept(fractions[fi], data.Columns.Count);
            foreach (var m in methods)
            {
                List<string> cols;
                if (m is "blend" or "blend-llm")
                {
                    var fit = Fit(trainView, ds, DataEvidenceKind.L1, FeatureSelectionMode.Blend, m == "blend-llm" ? llm : null, m == "blend" ? local : null, rep, k);
                    cols = fit.SelectedColumns.ToList();
                    // The guarantee: the chosen weight's cross-validated metric is never below weight 0's (data only).
                    var cv = fit.Report.CrossValidation;
                    blendFits++;
                    if (fit.Report.LlmWeight > 0) trusted++;
                    if (cv.Count > 1 && cv.Single(c => c.Weight == fit.Report.LlmWeight).MeanScore < cv.Single(c => c.Weight == 0).MeanScore) lost++;
                }
                else cols = rankings[m].Take(k).ToList();
                string key = string.Join("\u0001", cols.Order(StringComparer.Ordinal));
                if (!cacheByColumns.TryGetValue(key, out var s))
                    cacheByColumns[key] = s = learners.Select(l => Downstream.TestScore(data, cols, trainView, testView, l, rep)).ToArray();
                for (int li = 0; li < learners.Length; li++) score[m][learners[li]][fi] += s[li];
            }
        }
    }
    Console.WriteLine();
    string labelText = ds.Kind == LabelKind.Binary ? $"binary label `{ds.Label}` positive '{ds.Positive}'" : $"{ds.Kind.ToString().ToLowerInvariant()} label `{ds.Label}`";
    Console.WriteLine($"#### {ds.Name} ({ds.File}: {data.Rows} rows, {data.Columns.Count} columns, {labelText}; test {ds.Metric})");
    Console.WriteLine();
    Console.WriteLine("| kept | " + string.Join(" | ", learners.SelectMany(l => methods.Select((m, i) => i == 0 ? $"{l}: {m}" : m))) + " |");
    Console.WriteLine("|---:|" + string.Concat(learners.SelectMany(_ => methods).Select(_ => "---:|")));
    for (int fi = 0; fi < fractions.Length; fi++)
        Console.WriteLine($"| {fractions[fi] * 100:0}% ({Kept(fractions[fi], data.Columns.Count)}) | " +
                          string.Join(" | ", learners.SelectMany(l => methods.Select(m => (score[m][l][fi] / reps).ToString("0.000", CultureInfo.InvariantCulture)))) + " |");
    // The summary: mean over the small budgets (10–50% kept), where the choice of columns matters most.
    foreach (var l in learners)
        summary.Add((ds, $"| {ds.Name} | {ds.Metric} | {l} | " + string.Join(" | ", methods.Select(m => (score[m][l].Take(5).Sum() / 5 / reps).ToString("0.000", CultureInfo.InvariantCulture))) + " |"));
    if (blendFits > 0)
        blendChecks.Add($"| {ds.Name} | {blendFits} | {trusted} | {lost} |");
    Console.WriteLine();
    Console.WriteLine($"({clock.Elapsed.TotalSeconds:0} s)");
}
Console.WriteLine();
Console.WriteLine("## Summary: mean test metric over 10–50% of columns kept");
Console.WriteLine();
Console.WriteLine("| table | metric | learner | " + string.Join(" | ", methods) + " |");
Console.WriteLine("|---|---|---|" + string.Concat(methods.Select(_ => "---:|")));
foreach (var s in summary) Console.WriteLine(s.Line);
if (blendChecks.Count > 0)
{
    Console.WriteLine();
    Console.WriteLine("Blend fits (one per split and fraction): how often the prior got weight > 0, and how often the chosen weight's cross-validated metric fell below data-only's (by construction 0):");
    Console.WriteLine();
    Console.WriteLine("| table | blend fits | weight > 0 | below data-only on its folds |");
    Console.WriteLine("|---|---:|---:|---:|");
    foreach (var b in blendChecks) Console.WriteLine(b);
}
Console.WriteLine();
Console.WriteLine($"Total {total.Elapsed.TotalSeconds:0} s.");
return 0;

static int Kept(double fraction, int columns) => Math.Clamp((int)Math.Round(fraction * columns, MidpointRounding.AwayFromZero), 1, columns);

static List<string> Rank(LlmFeatureSelectionTransformer t) =>
    t.Report.Features.OrderBy(f => f.Rank == 0 ? int.MaxValue : f.Rank).ThenBy(f => f.Name, StringComparer.Ordinal).Select(f => f.Name).ToList();

static LlmFeatureSelectionTransformer Fit(IDataView train, Dataset ds, DataEvidenceKind evidence, FeatureSelectionMode mode, IChatClient? llm,
    IEmbeddingGenerator<string, Embedding<float>>? local, int rep, int? keep)
{
    var o = new LlmFeatureSelectionEstimator.Options
    {
        LabelColumnName = "Label",
        LabelKind = ds.Kind,
        LabelDescription = ds.LabelDescription,
        TaskDescription = ds.Task,
        ColumnDescriptions = ds.Descriptions,
        Mode = mode,
        DataEvidence = evidence,
        KeepCount = keep ?? 1_000,
        LocalPriorQueryPrefix = LlmFeatureSelectionEstimator.ArcticQueryPrefix,
        Seed = rep,
    };
    var catalog = new MLContext(rep).Transforms.FeatureSelection;
    return (local is not null ? catalog.SelectFeaturesWithLlm(o, local) : catalog.SelectFeaturesWithLlm(o, llm)).Fit(train);
}

static List<string> Shuffled(List<string> columns, int seed)
{
    var a = columns.ToArray();
    new Random(seed).Shuffle(a);
    return a.ToList();
}

static string FindDataDir()
{
    for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        if (File.Exists(Path.Combine(d.FullName, "samples", "data", "sklearn_breast_cancer.csv"))) return Path.Combine(d.FullName, "samples", "data");
    throw new DirectoryNotFoundException("samples/data with the evaluation tables was not found above " + AppContext.BaseDirectory);
}
