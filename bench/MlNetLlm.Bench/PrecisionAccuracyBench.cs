using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.Estimators;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;
using MlNetLlm.Transforms.Embeddings;

/// <summary>
/// The accuracy guard of mixed precision on real data (accuracy, not timing: it may run on a busy machine):
///   dotnet run -c Release --project bench/MlNetLlm.Bench -- precision-accuracy [--texts 1000] [--epochs 1] [--skip-finetune]
/// 1. The bundled MiniLM's mean-pooled embeddings of the first N Amazon Fine Foods reviews in bf16 against fp32 (cosine).
/// 2. MiniLM fine-tuned on the Amazon given split (4,000 / 1,000) in fp32 and in bf16 at the same seed: test accuracy of each.
/// 3. The fp32-trained model's test predictions scored in bf16 against fp32 (share of equal labels), and the same for the
///    bf16-trained model.
/// </summary>
static class PrecisionAccuracyBench
{
    public static int Run(string[] args)
    {
        int texts = 1000, epochs = 1;
        bool finetune = true;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--texts": texts = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--epochs": epochs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--skip-finetune": finetune = false; break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }
        string csv = Path.Combine(new BenchOptions().RepoRoot, "samples", "data", "amazon_fine_foods.csv");
        var device = new DeviceOptions { Threads = 2 };
        Console.WriteLine($"# mixed precision accuracy guard, bundled minilm, Amazon Fine Foods, {DateTime.UtcNow:yyyy-MM-dd}; CPU: {PrecisionSupport.Resolve(Precision.Auto, device, "precision").Reason}");

        var reviews = CsvTable.Load(csv).Column("review").Take(texts).ToList();
        float[][] Embed(Precision p)
        {
            using var e = TextEmbeddingEstimator.Create(new TextEmbeddingOptions { CheckpointPath = "minilm", MaxLength = 128, BatchSize = 32, Device = device, Precision = p });
            return e.Embed(reviews);
        }
        var sw = Stopwatch.StartNew();
        var fp32 = Embed(Precision.Fp32);
        var bf16 = Embed(Precision.Bf16);
        var cos = fp32.Zip(bf16, Cosine).ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| embeddings bf16 vs fp32 | {reviews.Count} real reviews (max 128 tokens, mean pooling) | min cosine {cos.Min():F6}, mean {cos.Average():F6}, share ≥ 0.999: {cos.Count(c => c >= 0.999) / (double)cos.Length:P1} | {sw.Elapsed.TotalSeconds:F0} s |"));
        if (!finetune) return 0;

        var ml = new MLContext(seed: 1);
        var results = new Dictionary<Precision, (TextTrainingJob.Result Result, TextJobData Data)>();
        foreach (var p in new[] { Precision.Fp32, Precision.Bf16 })
        {
            var o = new TextJobOptions
            {
                Dataset = csv, LabelColumn = "score", TextColumns = ["review"], SplitColumn = "split", Encoder = "checkpoint:minilm", Seed = 1,
                Trainer = new TextTrainerOptions
                {
                    Epochs = epochs, BatchSize = 16, MaxLength = 128, Device = device, Precision = p,
                    EpochProgress = new InlineProgress<EpochReport>(r => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {p} epoch {r.Epoch}: train loss {r.TrainLoss:F4} ({r.Seconds:F0} s)"))),
                },
            };
            var result = TextTrainingJob.Run(ml, o);
            results[p] = (result, TextJobData.Load(o));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| fine-tune {p} | {result.Metrics.Rows}/{result.Metrics.TestRows} rows, {epochs} epoch(s), seed 1 | test accuracy {result.Metrics.Accuracy:F4}, macro-F1 {result.Metrics.MacroF1:F4} | {result.Metrics.TrainSeconds:F0} s |"));
        }
        double a32 = results[Precision.Fp32].Result.Metrics.Accuracy!.Value, a16 = results[Precision.Bf16].Result.Metrics.Accuracy!.Value;
        int n = results[Precision.Fp32].Result.Metrics.TestRows;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| accuracy bf16 - fp32 | {n} test rows | {100 * (a16 - a32):+0.00;-0.00} points (aim: within 0.5; one standard error of either accuracy is {100 * Math.Sqrt(a32 * (1 - a32) / n):F2} points) | |"));

        string[] Labels(ITransformer model, TextJobData d) =>
            model.Transform(d.TestView(ml)).GetColumn<ReadOnlyMemory<char>>("PredictedLabelValue").Select(v => v.ToString()).ToArray();
        foreach (var trained in new[] { Precision.Fp32, Precision.Bf16 })
        {
            var (result, data) = results[trained];
            var scorer = Flatten(result.Model).OfType<TextPredictionTransformer>().Single();
            scorer.UsePrecision(Precision.Fp32);
            var asFp32 = Labels(result.Model, data);
            scorer.UsePrecision(Precision.Bf16);
            var asBf16 = Labels(result.Model, data);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {trained}-trained model scored in bf16 vs fp32 | {asFp32.Length} test rows | equal labels {asFp32.Zip(asBf16).Count(x => x.First == x.Second) / (double)asFp32.Length:P2} | |"));
        }
        var l32 = Labels(results[Precision.Fp32].Result.Model, results[Precision.Fp32].Data);
        var l16 = Labels(results[Precision.Bf16].Result.Model, results[Precision.Bf16].Data);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| fp32-trained vs bf16-trained (each in bf16) | {l32.Length} test rows | equal labels {l32.Zip(l16).Count(x => x.First == x.Second) / (double)l32.Length:P2} | |"));
        return 0;
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer t) => t is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [t];

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return dot / Math.Sqrt(na * nb);
    }
}
