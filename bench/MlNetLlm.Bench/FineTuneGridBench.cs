using System.Globalization;
using Microsoft.ML;
using MlNetLlm.AutoMl;
using MlNetLlm.AutoMl.Experiments;
using MlNetLlm.AutoMl.Scheduling;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.Modeling.Runtime;

/// <summary>
/// Fine-tuning `minilm` over a grid of learning rate × batch size × epochs on a share of each data set's training rows,
/// scored on the validation rows an experiment would hold out (never the test rows): the table the fine-tuning
/// portfolio and search ranges are chosen from, and the ground truth the tuners are replayed on (finetune-tuners).
///   dotnet run -c Release --project bench/MlNetLlm.Bench -- finetune-grid [--datasets amazon,fortunes,spam] [--fraction 0.25]
///       [--learning-rates 2e-5,5e-5,1e-4,2e-4] [--batch-sizes 16,32] [--epochs 1,2] [--max-length 128] [--threads 2] --out FILE.csv
/// </summary>
static class FineTuneGridBench
{
    public static int Run(string[] args)
    {
        string[] datasets = BenchDatasets.Names;
        double fraction = 0.25;
        double[] rates = [2e-5, 5e-5, 1e-4, 2e-4];
        int[] batches = [16, 32], epochs = [1, 2];
        int maxLength = 128, threads = 2;
        string? output = null;
        for (int i = 0; i < args.Length; i += 2)
        {
            string v = args[i + 1];
            switch (args[i])
            {
                case "--datasets": datasets = v.Split(','); break;
                case "--fraction": fraction = double.Parse(v, CultureInfo.InvariantCulture); break;
                case "--learning-rates": rates = v.Split(',').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--batch-sizes": batches = v.Split(',').Select(int.Parse).ToArray(); break;
                case "--epochs": epochs = v.Split(',').Select(int.Parse).ToArray(); break;
                case "--max-length": maxLength = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--threads": threads = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--out": output = v; break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }
        if (output is null) throw new ArgumentException("--out FILE.csv is required (the grid is replayed from it by finetune-tuners).");
        string root = new BenchOptions().RepoRoot;
        var lines = new List<string> { "dataset,learning_rate,batch_size,epochs,max_length,fraction,train_rows,validation_rows,validation_metric,seconds,load_average" };
        Console.WriteLine($"# fine-tuning grid on minilm, {fraction:P0} of the training rows, max length {maxLength}, {threads} threads, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        foreach (var name in datasets)
        {
            var job = TextJobData.Load(BenchDatasets.Options(name, root));
            var (fit, validation) = job.SplitTrain(0.2, seed: 1); // as an experiment with seed 1 splits it
            var share = DataShare.Take(fit, r => r.Label, fraction, seed: 1);
            var data = job.WithRows(share, validation);
            var candidate = NeuralCandidate.FineTune("minilm");
            foreach (double lr in rates)
                foreach (int batch in batches)
                    foreach (int e in epochs)
                    {
                        var p = candidate.Space.Defaults().With(ParameterNames.LearningRate, lr).With(ParameterNames.BatchSize, batch)
                            .With(ParameterNames.Epochs, e).With(ParameterNames.MaxLength, maxLength);
                        var sw = System.Diagnostics.Stopwatch.StartNew();
                        var outcome = candidate.Run(new MLContext(seed: 1), data, p, new DeviceOptions { Threads = threads }, null, default);
                        double seconds = sw.Elapsed.TotalSeconds;
                        string line = string.Create(CultureInfo.InvariantCulture,
                            $"{name},{lr:G3},{batch},{e},{maxLength},{fraction},{share.Count},{validation.Count},{outcome.ValidationMetric:F4},{seconds:F1},{LoadAverage()}");
                        Console.WriteLine(line);
                        lines.Add(line);
                        File.WriteAllLines(output, lines); // kept as it goes: a long run interrupted keeps what it measured
                    }
        }
        return 0;
    }

    internal static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "";
}
