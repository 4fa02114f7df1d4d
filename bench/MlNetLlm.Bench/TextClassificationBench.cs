using System.Globalization;
using Microsoft.ML;
using MlNetLlm.Estimators;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.Modeling.Runtime;

/// <summary>
/// Real-data results for the text trainers (not a test):
///   dotnet run -c Release --project bench/MlNetLlm.Bench -- text [--glove FILE.txt(.gz)] [--datasets amazon,fortunes] [--encoders tfidf,wordvec,lstm,lstm+glove,transformer] [--epochs N]
/// wordvec is ML.NET's own ApplyWordEmbedding with the same GloVe file (+ SDCA), the word-vector baseline.
/// Amazon Fine Foods with its given train/test split; Debian fortunes restricted to its 10 largest categories with a
/// stratified 80/20 split (seed 1). Prints accuracy, macro-F1 and train time per encoder.
/// </summary>
static class TextClassificationBench
{
    public static int Run(string[] args)
    {
        string? glove = null;
        string[] datasets = ["amazon", "fortunes"];
        string[] encoders = ["tfidf", "wordvec", "lstm", "lstm+glove", "transformer"];
        int epochs = 5;
        for (int i = 0; i < args.Length; i += 2)
        {
            string v = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"Option '{args[i]}' needs a value.");
            switch (args[i])
            {
                case "--glove": glove = v; break;
                case "--datasets": datasets = v.Split(','); break;
                case "--encoders": encoders = v.Split(','); break;
                case "--epochs": epochs = int.Parse(v, CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }
        string data = Path.Combine(FindRepoRoot(), "samples", "data");
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
                var options = new TextJobOptions
                {
                    Dataset = Path.Combine(data, dataset == "amazon" ? "amazon_fine_foods.csv" : "debian_fortunes.csv"),
                    LabelColumn = dataset == "amazon" ? "score" : "category",
                    TextColumns = [dataset == "amazon" ? "review" : "text"],
                    SplitColumn = dataset == "amazon" ? "split" : null,
                    MaxClasses = dataset == "amazon" ? null : 10,
                    Task = "multiclass",
                    Encoder = encoder == "lstm+glove" ? "lstm" : encoder,
                    GlovePath = encoder is "lstm+glove" or "wordvec" ? glove : null,
                    Seed = 1,
                    Trainer = new TextTrainerOptions
                    {
                        Epochs = epochs,
                        BatchSize = 32,
                        MaxLength = dataset == "amazon" ? 160 : 64,
                        Device = new DeviceOptions { Threads = 2 },
                        EpochProgress = new Progress(r => Console.WriteLine($"  {dataset}/{encoder} epoch {r.Epoch}: loss {r.TrainLoss:F4} ({r.Seconds:F1} s)")),
                    },
                };
                var result = TextTrainingJob.Run(new MLContext(seed: 1), options);
                var m = result.Metrics;
                string line = string.Create(CultureInfo.InvariantCulture,
                    $"| {dataset} | {encoder} | {m.Rows}/{m.TestRows} | {m.Accuracy:F3} | {m.MacroF1:F3} | {m.TrainSeconds:F1} |");
                Console.WriteLine(line);
                rows.Add(line);
            }
        }
        Console.WriteLine();
        Console.WriteLine("| data set | encoder | train/test rows | accuracy | macro-F1 | train s |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|");
        foreach (var r in rows) Console.WriteLine(r);
        return 0;
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
