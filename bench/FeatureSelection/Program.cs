// Evaluation of LLM feature selection (README "LLM feature selection"): for each real table, test AUROC of a
// downstream LightGbm and logistic regression against the fraction of columns kept, for random, mutual-information
// and L1 rankings, plus the estimator's llm and blend modes when MLNETLLM_LLM names an endpoint
// (ollama:MODEL[@URL] or openai:MODEL[@URL]). Stratified 70/30 splits, repeated; every ranking sees training rows only.
//
//   dotnet run -c Release --project bench/FeatureSelection [-- --reps N] [--datasets breast,pima,churn,attrition]
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.AI;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.LightGbm;
using MlNetLlm.Bench.FeatureSelection;
using MlNetLlm.LlmClients;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Transforms.FeatureSelection;

int reps = 5;
string? only = null;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--reps" && i + 1 < args.Length) reps = int.Parse(args[++i], CultureInfo.InvariantCulture);
    else if (args[i] == "--datasets" && i + 1 < args.Length) only = args[++i];
    else { Console.Error.WriteLine($"unknown argument '{args[i]}'; usage: [--reps N] [--datasets breast,pima,churn,attrition]"); return 2; }
}
string dataDir = FindDataDir();
string? llmSpec = Environment.GetEnvironmentVariable("MLNETLLM_LLM");
IChatClient? llm = string.IsNullOrWhiteSpace(llmSpec) ? null : LlmChatClients.Create(llmSpec);
double[] fractions = Enumerable.Range(1, 10).Select(i => i / 10.0).ToArray();
// L1 is also the estimator's data mode (its default evidence), what blend starts from; "MI+L1" is DataEvidence = Both.
var methods = new List<string> { "random", "MI", "L1", "MI+L1" };
if (llm is not null) methods.AddRange(["llm", "blend"]);
string[] learners = ["LightGbm", "LogReg"];

Console.WriteLine($"# LLM feature selection: test AUROC vs fraction of columns kept");
Console.WriteLine();
Console.WriteLine($"{reps} stratified 70/30 splits per table (seeds 0..{reps - 1}), mean test AUROC; rankings from training rows only. " +
                  $"LLM: {(llm is null ? "none (set MLNETLLM_LLM=ollama:MODEL[@URL] or openai:MODEL[@URL] for the llm and blend columns)" : llmSpec)}. " +
                  $"{Environment.ProcessorCount} cores, .NET {Environment.Version}.");
var total = Stopwatch.StartNew();
var summary = new List<string>();
foreach (var ds in Dataset.All.Where(d => only is null || only.Split(',').Contains(d.Key)))
{
    var clock = Stopwatch.StartNew();
    var table = CsvTable.Load(Path.Combine(dataDir, ds.File));
    var data = new Table(table, ds.Label, ds.Positive);
    // auc[method][learner][fraction] summed over repetitions
    var auc = methods.ToDictionary(m => m, _ => learners.ToDictionary(l => l, _ => new double[fractions.Length]));
    for (int rep = 0; rep < reps; rep++)
    {
        var (train, test) = data.StratifiedSplit(0.3, rep);
        var trainView = data.View(train);
        var testView = data.View(test);
        var rankings = new Dictionary<string, List<string>>
        {
            ["random"] = Shuffled(data.Columns, 1000 + rep),
            ["MI"] = Rank(trainView, ds, DataEvidenceKind.MutualInformation, FeatureSelectionMode.Data, null, rep),
            ["L1"] = Rank(trainView, ds, DataEvidenceKind.L1, FeatureSelectionMode.Data, null, rep),
            ["MI+L1"] = Rank(trainView, ds, DataEvidenceKind.Both, FeatureSelectionMode.Data, null, rep),
        };
        if (llm is not null) rankings["llm"] = Rank(trainView, ds, DataEvidenceKind.L1, FeatureSelectionMode.Llm, llm, rep);
        var cacheByColumns = new Dictionary<string, double[]>();
        for (int fi = 0; fi < fractions.Length; fi++)
        {
            int k = Math.Clamp((int)Math.Round(fractions[fi] * data.Columns.Count, MidpointRounding.AwayFromZero), 1, data.Columns.Count);
            foreach (var m in methods)
            {
                List<string> cols = m == "blend"
                    ? Fit(trainView, ds, DataEvidenceKind.L1, FeatureSelectionMode.Blend, llm, rep, k).SelectedColumns.ToList()
                    : rankings[m].Take(k).ToList();
                string key = string.Join("\u0001", cols.Order(StringComparer.Ordinal));
                if (!cacheByColumns.TryGetValue(key, out var scores))
                    cacheByColumns[key] = scores = learners.Select(l => Downstream.TestAuc(data, cols, trainView, testView, l, rep)).ToArray();
                for (int li = 0; li < learners.Length; li++) auc[m][learners[li]][fi] += scores[li];
            }
        }
    }
    Console.WriteLine();
    Console.WriteLine($"## {ds.Name} ({ds.File}: {data.Rows} rows, {data.Columns.Count} columns, label `{ds.Label}` positive '{ds.Positive}')");
    Console.WriteLine();
    Console.WriteLine("| kept | " + string.Join(" | ", learners.SelectMany(l => methods.Select((m, i) => i == 0 ? $"{l}: {m}" : m))) + " |");
    Console.WriteLine("|---:|" + string.Concat(learners.SelectMany(_ => methods).Select(_ => "---:|")));
    for (int fi = 0; fi < fractions.Length; fi++)
    {
        int k = Math.Clamp((int)Math.Round(fractions[fi] * data.Columns.Count, MidpointRounding.AwayFromZero), 1, data.Columns.Count);
        Console.WriteLine($"| {fractions[fi] * 100:0}% ({k}) | " +
                          string.Join(" | ", learners.SelectMany(l => methods.Select(m => (auc[m][l][fi] / reps).ToString("0.000", CultureInfo.InvariantCulture)))) + " |");
    }
    // The summary: mean over the small budgets (10–50% kept), where the choice of columns matters most.
    foreach (var l in learners)
        summary.Add($"| {ds.Name} | {l} | " + string.Join(" | ", methods.Select(m => (auc[m][l].Take(5).Sum() / 5 / reps).ToString("0.000", CultureInfo.InvariantCulture))) + " |");
    Console.WriteLine();
    Console.WriteLine($"({clock.Elapsed.TotalSeconds:0} s)");
}
Console.WriteLine();
Console.WriteLine("## Summary: mean test AUROC over 10–50% of columns kept");
Console.WriteLine();
Console.WriteLine("| table | learner | " + string.Join(" | ", methods) + " |");
Console.WriteLine("|---|---|" + string.Concat(methods.Select(_ => "---:|")));
foreach (var s in summary) Console.WriteLine(s);
Console.WriteLine();
Console.WriteLine($"Total {total.Elapsed.TotalSeconds:0} s.");
return 0;

static List<string> Rank(IDataView train, Dataset ds, DataEvidenceKind evidence, FeatureSelectionMode mode, IChatClient? llm, int rep) =>
    Fit(train, ds, evidence, mode, llm, rep, null).Report.Features
        .OrderBy(f => f.Rank == 0 ? int.MaxValue : f.Rank).ThenBy(f => f.Name, StringComparer.Ordinal).Select(f => f.Name).ToList();

static LlmFeatureSelectionTransformer Fit(IDataView train, Dataset ds, DataEvidenceKind evidence, FeatureSelectionMode mode, IChatClient? llm, int rep, int? keep) =>
    new LlmFeatureSelectionEstimator(new LlmFeatureSelectionEstimator.Options
    {
        LabelColumnName = "Label",
        LabelDescription = ds.LabelDescription,
        TaskDescription = ds.Task,
        ColumnDescriptions = ds.Descriptions,
        Mode = mode,
        DataEvidence = evidence,
        KeepCount = keep ?? 1_000,
        Seed = rep,
    }, llm).Fit(train);

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

namespace MlNetLlm.Bench.FeatureSelection
{
    /// <summary>A CSV table in memory: numeric columns as floats (empty/NA = missing), the rest as text, a Boolean label.</summary>
    internal sealed class Table
    {
        private readonly Dictionary<string, float[]> _numbers = [];
        private readonly Dictionary<string, string[]> _texts = [];
        private readonly bool[] _label;
        public List<string> Columns { get; } = [];
        public int Rows => _label.Length;

        public Table(CsvTable csv, string label, string positive)
        {
            var y = csv.Column(label);
            if (!y.Contains(positive)) throw new ArgumentException($"'{csv.Source}': label '{label}' has no value '{positive}'.");
            _label = y.Select(v => v == positive).ToArray();
            foreach (var c in csv.Header.Where(h => h != label))
            {
                Columns.Add(c);
                var values = csv.Column(c);
                if (csv.IsNumeric(c))
                    _numbers[c] = values.Select(v => v.Trim() is "" or "NA" or "NaN" ? float.NaN : float.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray();
                else
                    _texts[c] = values;
            }
        }

        public bool IsNumeric(string c) => _numbers.ContainsKey(c);

        public (int[] Train, int[] Test) StratifiedSplit(double testFraction, int seed)
        {
            var rnd = new Random(seed);
            var train = new List<int>();
            var test = new List<int>();
            foreach (bool cls in new[] { false, true })
            {
                var idx = Enumerable.Range(0, Rows).Where(i => _label[i] == cls).ToArray();
                rnd.Shuffle(idx);
                int nTest = (int)Math.Round(idx.Length * testFraction);
                test.AddRange(idx.Take(nTest));
                train.AddRange(idx.Skip(nTest));
            }
            train.Sort();
            test.Sort();
            return (train.ToArray(), test.ToArray());
        }

        public IDataView View(int[] rows)
        {
            var b = new InMemoryDataViewBuilder(rows.Length);
            foreach (var c in Columns)
            {
                if (_numbers.TryGetValue(c, out var x)) b.AddFloat(c, rows.Select(r => x[r]).ToArray());
                else b.AddText(c, rows.Select(r => _texts[c][r]).ToArray());
            }
            return b.AddBool("Label", rows.Select(r => _label[r]).ToArray()).Build();
        }
    }

    internal static class Downstream
    {
        /// <summary>Test AUROC of a learner on the given columns: numbers mean-imputed, text one-hot encoded.</summary>
        public static double TestAuc(Table t, List<string> columns, IDataView train, IDataView test, string learner, int seed)
        {
            var ml = new MLContext(seed);
            var steps = new List<IEstimator<ITransformer>>();
            foreach (var c in columns)
                steps.Add(t.IsNumeric(c) ? ml.Transforms.ReplaceMissingValues(c) : ml.Transforms.Categorical.OneHotEncoding(c));
            steps.Add(ml.Transforms.Concatenate("Features", columns.ToArray()));
            if (learner == "LightGbm")
                steps.Add(ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
                {
                    NumberOfThreads = 1, // deterministic
                    Seed = seed,
                    Verbose = false,
                    Silent = true,
                }));
            else
            {
                steps.Add(ml.Transforms.NormalizeMeanVariance("Features"));
                steps.Add(ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new Microsoft.ML.Trainers.LbfgsLogisticRegressionBinaryTrainer.Options { NumberOfThreads = 1 }));
            }
            var chain = new EstimatorChain<ITransformer>();
            foreach (var s in steps) chain = chain.Append(s);
            var model = chain.Fit(train);
            return ml.BinaryClassification.EvaluateNonCalibrated(model.Transform(test)).AreaUnderRocCurve;
        }
    }

    internal sealed record Dataset(string Key, string Name, string File, string Label, string Positive, string Task, string? LabelDescription,
        Dictionary<string, string> Descriptions)
    {
        public static readonly Dataset[] All =
        [
            new("breast", "Breast cancer (Wisconsin)", "sklearn_breast_cancer.csv", "diagnosis", "malignant",
                "Predict whether a breast tumour is malignant or benign from features computed from a digitized image of a fine needle aspirate of the mass, describing the cell nuclei.",
                "malignant (positive) or benign", []),
            new("pima", "Pima Indians diabetes", "mlbench_pima_indians_diabetes.csv", "diabetes", "pos",
                "Predict whether a woman of Pima Indian heritage, aged 21 or older, has diabetes from diagnostic measurements.",
                "pos if the woman tested positive for diabetes",
                new()
                {
                    ["pregnant"] = "number of times pregnant",
                    ["glucose"] = "plasma glucose concentration 2 hours into an oral glucose tolerance test",
                    ["pressure"] = "diastolic blood pressure (mm Hg)",
                    ["triceps"] = "triceps skin fold thickness (mm)",
                    ["insulin"] = "2-hour serum insulin (mu U/ml)",
                    ["mass"] = "body mass index (weight in kg / height in m squared)",
                    ["pedigree"] = "diabetes pedigree function (family history)",
                    ["age"] = "age in years",
                }),
            new("churn", "Telecom churn", "modeldata_mlc_churn.csv", "churn", "yes",
                "Predict whether a mobile phone customer will churn (leave the provider) from their account and usage data.",
                "yes if the customer left", []),
            new("attrition", "IBM HR attrition", "modeldata_attrition.csv", "Attrition", "Yes",
                "Predict whether an employee will leave the company (attrition) from HR data about the employee and the job.",
                "Yes if the employee left", []),
        ];
    }
}
