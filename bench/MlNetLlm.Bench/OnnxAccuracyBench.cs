using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.Estimators;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.Modeling.Export;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Onnx;

/// <summary>
/// Exported models against the TorchSharp model they came from, on real held-out rows: the bundled MiniLM fine-tuned as
/// mlnet-llm train does it (TextTrainingJob, --encoder checkpoint:minilm, task auto: Amazon is binary, fortunes
/// multiclass), exported fp32 and int8 (each int8 layout), scored by MlNetLlm.Onnx; test accuracy, macro-F1, and the
/// share of rows whose predicted label equals the TorchSharp model's. The trained zips are kept in bench/.cache/onnx.
///   dotnet run -c Release --project bench/MlNetLlm.Bench -- onnx-accuracy [--datasets amazon,fortunes] [--epochs 1] [--threads 2]
/// </summary>
static class OnnxAccuracyBench
{
    /// <summary>The exports both ONNX benches compare: fp32, then each int8 layout and scope (the default marked).</summary>
    internal static readonly (string Name, OnnxExportOptions Options)[] Variants =
    [
        ("ONNX fp32", new OnnxExportOptions()),
        ("ONNX int8, MatMulInteger per column, all Linears", new OnnxExportOptions { Quantization = OnnxQuantization.Int8, Int8Layout = OnnxInt8Layout.MatMulIntegerPerChannel, Int8Scope = OnnxInt8Scope.AllLinears }),
        ("ONNX int8, MatMulInteger per tensor, all Linears", new OnnxExportOptions { Quantization = OnnxQuantization.Int8, Int8Layout = OnnxInt8Layout.MatMulIntegerPerTensor, Int8Scope = OnnxInt8Scope.AllLinears }),
        ("ONNX int8, com.microsoft DynamicQuantizeMatMul per column, all Linears", new OnnxExportOptions { Quantization = OnnxQuantization.Int8, Int8Layout = OnnxInt8Layout.DynamicQuantizeMatMulPerChannel, Int8Scope = OnnxInt8Scope.AllLinears }),
        ("ONNX int8, MatMulInteger per column, FFN output fp32 (default)", new OnnxExportOptions { Quantization = OnnxQuantization.Int8, Int8Scope = OnnxInt8Scope.AllButFfnOutput }),
        ("ONNX int8, MatMulInteger per column, attention only", new OnnxExportOptions { Quantization = OnnxQuantization.Int8, Int8Scope = OnnxInt8Scope.AttentionOnly }),
    ];

    public static int Run(string[] args)
    {
        string[] datasets = ["amazon", "fortunes"];
        int epochs = 1, threads = 2;
        for (int i = 0; i < args.Length; i += 2)
        {
            string v = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"Option '{args[i]}' needs a value.");
            switch (args[i])
            {
                case "--datasets": datasets = v.Split(','); break;
                case "--epochs": epochs = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--threads": threads = int.Parse(v, CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }
        var opt = new BenchOptions();
        Console.WriteLine($"# exported MiniLM classifiers vs TorchSharp: {epochs} fine-tuning epoch(s), batch 16, {threads} threads, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average {OnnxSpeedBench.LoadAverage()}");
        var lines = new List<string>();
        foreach (var dataset in datasets)
            lines.AddRange(RunDataset(opt, dataset, epochs, threads));
        Console.WriteLine();
        Console.WriteLine("| data set | model | test rows | accuracy (±95% CI) | macro-F1 | Δ accuracy vs TorchSharp | same label as TorchSharp | max Δ score | model file MB | scoring rows/s (contended) |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var l in lines) Console.WriteLine(l);
        Console.WriteLine($"# finished {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average {OnnxSpeedBench.LoadAverage()}");
        return 0;
    }

    private static List<string> RunDataset(BenchOptions opt, string dataset, int epochs, int threads)
    {
        var options = new TextJobOptions
        {
            Dataset = Path.Combine(opt.RepoRoot, "samples", "data", dataset == "amazon" ? "amazon_fine_foods.csv" : "debian_fortunes.csv"),
            LabelColumn = dataset == "amazon" ? "score" : "category",
            TextColumns = [dataset == "amazon" ? "review" : "text"],
            SplitColumn = dataset == "amazon" ? "split" : null,
            MaxClasses = dataset == "amazon" ? null : 10,
            Encoder = "checkpoint:minilm",
            Seed = 1,
            Trainer = new TextTrainerOptions { Epochs = epochs, BatchSize = 16, MaxLength = dataset == "amazon" ? 128 : 64, Device = new DeviceOptions { Threads = threads } },
        };
        var ml = new MLContext(seed: 1);
        var data = TextJobData.Load(options);
        string cache = Path.Combine(opt.RepoRoot, "bench", ".cache", "onnx");
        Directory.CreateDirectory(cache);
        string zip = Path.Combine(cache, $"{dataset}-minilm-e{epochs}.zip");
        if (!File.Exists(zip))
        {
            var sw = Stopwatch.StartNew();
            var trained = TextTrainingJob.Run(ml, options);
            ml.Model.Save(trained.Model, trained.InputSchema, zip);
            Console.WriteLine($"  {dataset}: trained in {sw.Elapsed.TotalSeconds:F0} s → {zip}");
        }
        else Console.WriteLine($"  {dataset}: reusing {zip} (delete it to train again)");
        var torch = ml.Model.Load(zip, out _);
        // The reference computes in fp32, as the exported fp32 graph does (Auto would pick bf16 on a bf16 CPU).
        foreach (var t in MlNetLlm.MlNet.Persistence.ModelFile.Transformers(torch).OfType<TextPredictionTransformer>()) t.UsePrecision(Precision.Fp32);

        var rows = new List<string>();
        var (torchScored, torchSeconds) = Score(ml, data, torch);
        var torchMetrics = TextTrainingJob.Evaluate(ml, data, torchScored);
        var torchLabels = Predicted(torchScored, data);
        var torchScores = Scores(torchScored, data);
        rows.Add(Row(dataset, "TorchSharp (the trained zip)", data, torchMetrics, torchMetrics, torchLabels, torchLabels, torchScores, torchScores,
            new FileInfo(zip).Length, data.Test.Count / torchSeconds));

        var variants = Variants;
        foreach (var (name, exportOptions) in variants)
        {
            string folder = Path.Combine(cache, $"{dataset}-{name.GetHashCode():x8}-{Guid.NewGuid():N}");
            ml.Model.ExportToOnnx(torch, folder, exportOptions);
            try
            {
                using var onnx = ml.Transforms.Text.OnnxTextPrediction(new OnnxTextPredictionOptions { ModelFolder = folder, Threads = threads }).Create();
                var (scored, seconds) = Score(ml, data, onnx);
                rows.Add(Row(dataset, name, data, TextTrainingJob.Evaluate(ml, data, scored), torchMetrics, Predicted(scored, data), torchLabels, Scores(scored, data), torchScores,
                    new FileInfo(Path.Combine(folder, OnnxExport.GraphFile)).Length, data.Test.Count / seconds));
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        foreach (var r in rows) Console.WriteLine(r);
        return rows;
    }

    /// <summary>The test rows scored once (cached in memory), and how long scoring them took.</summary>
    private static ((IDataView Scored, int Unseen) Test, double Seconds) Score(MLContext ml, TextJobData data, ITransformer model)
    {
        var sw = Stopwatch.StartNew();
        var (scored, unseen) = TextTrainingJob.ScoreTest(ml, data, model);
        // Every column the evaluator and the comparison read, filled in one scoring pass on first access.
        string[] columns = [.. new[] { "Label", "Score", "PredictedLabel", "Probability" }.Where(c => scored.Schema.GetColumnOrNull(c) is not null)];
        var cached = ml.Data.Cache(scored, columns);
        using (var cursor = cached.GetRowCursor(cached.Schema.Where(c => columns.Contains(c.Name))))
            while (cursor.MoveNext()) { }
        return ((cached, unseen), sw.Elapsed.TotalSeconds);
    }

    private static string[] Predicted((IDataView Scored, int Unseen) test, TextJobData data) =>
        data.Task == MlNetLlm.Modeling.Training.TaskKind.Binary
            ? [.. test.Scored.GetColumn<bool>("PredictedLabel").Select(b => b.ToString())]
            : [.. test.Scored.GetColumn<uint>("PredictedLabel").Select(k => k.ToString(CultureInfo.InvariantCulture))];

    private static float[][] Scores((IDataView Scored, int Unseen) test, TextJobData data) =>
        data.Task == MlNetLlm.Modeling.Training.TaskKind.Binary
            ? [.. test.Scored.GetColumn<float>("Probability").Select(p => new[] { p })]
            : [.. test.Scored.GetColumn<float[]>("Score")];

    private static string Row(string dataset, string model, TextJobData data, TextJobMetrics m, TextJobMetrics torch, string[] labels, string[] torchLabels,
        float[][] scores, float[][] torchScores, long bytes, double rowsPerSecond)
    {
        double acc = m.Accuracy!.Value, ci = 1.96 * Math.Sqrt(acc * (1 - acc) / data.Test.Count);
        int same = labels.Zip(torchLabels).Count(p => p.First == p.Second);
        double maxDelta = scores.Zip(torchScores, (a, b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max()).Max();
        return string.Create(CultureInfo.InvariantCulture,
            $"| {dataset} | {model} | {data.Test.Count} | {acc:F4} ± {ci:F3} | {m.MacroF1:F4} | {100 * (acc - torch.Accuracy!.Value):+0.00;-0.00;0.00} pt | {same}/{labels.Length} ({100.0 * same / labels.Length:F2}%) | {maxDelta:E1} | {bytes / 1e6:F1} | {rowsPerSecond:F1} |");
    }
}
