using System.Globalization;
using Microsoft.ML;
using MlNetLlm.Estimators;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.AutoMl.Experiments;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;

/// <summary>
/// Real-data results for the text trainers (not a test):
///   dotnet run -c Release --project bench/MlNetLlm.Bench -- text [--glove FILE.txt(.gz)] [--datasets amazon,fortunes] [--epochs N] [--finetune-epochs N]
///       [--encoders tfidf,wordvec,lstm,lstm+glove,transformer,checkpoint:minilm,checkpoint:arctic-xs,embeddings+sdca:minilm,embeddings+lightgbm:minilm]
/// wordvec is ML.NET's own ApplyWordEmbedding with the same GloVe file (+ SDCA), the word-vector baseline.
/// checkpoint:NAME fine-tunes a pretrained encoder (batch 16, max length 128 / 64, --finetune-epochs); embeddings+LEARNER:NAME
/// is a frozen encoder's embeddings (the model's own pooling) + an ML.NET learner at its default parameters.
/// The data sets and splits of BenchDatasets (amazon, fortunes, spam). Prints accuracy, macro-F1 and train time per encoder.
/// </summary>
static class TextClassificationBench
{
    public static int Run(string[] args)
    {
        string? glove = null;
        string[] datasets = ["amazon", "fortunes"];
        string[] encoders = ["tfidf", "wordvec", "lstm", "lstm+glove", "transformer"];
        int epochs = 5, finetuneEpochs = 2;
        var shared = new Dictionary<string, SharedEmbeddings>();
        for (int i = 0; i < args.Length; i += 2)
        {
            string v = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"Option '{args[i]}' needs a value.");
            switch (args[i])
            {
                case "--glove": glove = v; break;
                case "--datasets": datasets = v.Split(','); break;
                case "--encoders": encoders = v.Split(','); break;
                case "--epochs": epochs = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--finetune-epochs": finetuneEpochs = int.Parse(v, CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }
        var rows = new List<string>();
        Console.WriteLine($"# text classification, {epochs} epochs for neural encoders, 2 threads, {DateTime.UtcNow:yyyy-MM-dd}");
        foreach (var dataset in datasets)
        {
            foreach (var encoder in encoders)
            {
                if (encoder is "lstm+glove" or "wordvec" && glove is null)
                {
                    Console.WriteLine($"skip {dataset}/{encoder}: no --glove file given");
                    continue;
                }
                var options = BenchDatasets.Options(dataset, FindRepoRoot()) with
                {
                    Task = TaskKind.Multiclass,
                    Encoder = encoder == "lstm+glove" ? "lstm" : encoder,
                    GlovePath = encoder is "lstm+glove" or "wordvec" ? glove : null,
                    Trainer = new TextTrainerOptions
                    {
                        Epochs = epochs,
                        BatchSize = 32,
                        MaxLength = dataset == "fortunes" ? 64 : 160,
                        Device = new DeviceOptions { Threads = 2 },
                        EpochProgress = new Progress(r => Console.WriteLine($"  {dataset}/{encoder} epoch {r.Epoch}: loss {r.TrainLoss:F4} ({r.Seconds:F1} s)")),
                    },
                };
                bool pretrained = encoder.StartsWith("checkpoint:", StringComparison.Ordinal);
                if (pretrained)
                {
                    options.Trainer!.Epochs = finetuneEpochs;
                    options.Trainer.BatchSize = 16;
                    options.Trainer.MaxLength = dataset == "fortunes" ? 64 : 128;
                }
                var m = encoder.StartsWith("embeddings+", StringComparison.Ordinal)
                    ? FrozenEmbeddings(options, encoder, shared)
                    : TextTrainingJob.Run(new MLContext(seed: 1), options).Metrics;
                string line = string.Create(CultureInfo.InvariantCulture,
                    $"| {dataset} | {encoder} | {m.Rows}/{m.TestRows} | {m.Accuracy:F3} | {m.MacroF1:F3} | {m.TrainSeconds:F1} | {m.Precision ?? "fp32 (ML.NET)"} |");
                Console.WriteLine(line);
                rows.Add(line);
            }
        }
        Console.WriteLine();
        Console.WriteLine("| data set | encoder | train/test rows | accuracy | macro-F1 | train s | precision |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---|");
        foreach (var r in rows) Console.WriteLine(r);
        return 0;
    }

    /// <summary>embeddings+sdca:NAME / embeddings+lightgbm:NAME: the experiment's frozen-embedding candidates at their
    /// default parameters, fitted on all training rows (the vectors of one checkpoint and data set computed once).</summary>
    private static TextJobMetrics FrozenEmbeddings(TextJobOptions o, string encoder, Dictionary<string, SharedEmbeddings> shared)
    {
        string learner = encoder[..encoder.IndexOf(':')], checkpoint = encoder[(encoder.IndexOf(':') + 1)..];
        string key = $"{checkpoint}|{o.Dataset}";
        if (!shared.TryGetValue(key, out var embeddings))
            shared[key] = embeddings = new SharedEmbeddings(checkpoint, MlNetLlm.Models.BundledModels.All.FirstOrDefault(m => m.Name == checkpoint)?.Pooling ?? Pooling.Mean,
                maxLength: o.Trainer!.MaxLength);
        var candidate = learner == "embeddings+sdca" ? EmbeddingCandidate.Sdca(embeddings) : EmbeddingCandidate.LightGbm(embeddings);
        var ml = new MLContext(seed: 1);
        var data = TextJobData.Load(o);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var model = candidate.Refit(ml, data, candidate.Space.Defaults(), new DeviceOptions { Threads = 2 }, default);
        double seconds = sw.Elapsed.TotalSeconds;
        return TextTrainingJob.Evaluate(ml, data, model) with
        {
            Encoder = encoder, TrainSeconds = Math.Round(seconds, 2), Rows = data.Train.Count, TestRows = data.Test.Count, Precision = candidate.ResolvePrecision(new DeviceOptions()),
        };
    }

    private sealed class Progress(Action<MlNetLlm.Modeling.Training.EpochReport> a) : IProgress<MlNetLlm.Modeling.Training.EpochReport>
    {
        public void Report(MlNetLlm.Modeling.Training.EpochReport value) => a(value);
    }

    private static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "MlNetLlm.sln"))) return d.FullName;
        return Directory.GetCurrentDirectory();
    }
}
