using System.Globalization;
using Microsoft.ML;
using MlNetLlm.AutoMl;
using MlNetLlm.AutoMl.Experiments;
using MlNetLlm.Modeling.Runtime;

/// <summary>
/// CFO vs random vs grid at equal time budgets on Amazon Fine Foods (given split), one neural candidate, several seeds:
/// best validation accuracy, the test accuracy of that model, and the compute (trial seconds) spent until the best trial.
///   dotnet run -c Release --project bench/MlNetLlm.Bench -- tuners [--candidate lstm|transformer] [--budget 60] [--seeds 1,2,3] [--tuners cfo,random,grid]
/// </summary>
static class TunerBench
{
    public static int Run(string[] args)
    {
        string candidate = "lstm";
        int budget = 60;
        int[] seeds = [1, 2, 3];
        string[] tuners = ["cfo", "random", "grid"];
        for (int i = 0; i < args.Length; i += 2)
        {
            string v = args[i + 1];
            switch (args[i])
            {
                case "--candidate": candidate = v; break;
                case "--budget": budget = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--seeds": seeds = v.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--tuners": tuners = v.Split(','); break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }
        string root = new BenchOptions().RepoRoot;
        Console.WriteLine($"# tuners on amazon_fine_foods, candidate {candidate}, {budget} s per experiment, seeds {string.Join(",", seeds)}, 2 threads, {DateTime.UtcNow:yyyy-MM-dd}");
        var rows = new List<(string Tuner, int Seed, int Trials, double Val, double Test, double ToBest, double Total)>();
        foreach (var tuner in tuners)
            foreach (var seed in seeds)
            {
                string output = Path.Combine(Path.GetTempPath(), $"mlnetllm-tuners-{tuner}-{seed}-{Guid.NewGuid():N}");
                ExperimentResult result;
                try
                {
                    result = TextExperiment.Run(new MLContext(seed), new ExperimentOptions
                {
                    Dataset = Path.Combine(root, "samples", "data", "amazon_fine_foods.csv"), LabelColumn = "score", TextColumns = ["review"],
                    SplitColumn = "split", TrainTime = TimeSpan.FromSeconds(budget), Tuner = tuner, Candidates = [candidate], Seed = seed,
                    Device = new DeviceOptions { Threads = 2 },
                }, output);
                }
                catch (InvalidOperationException e) when (e.Message.StartsWith("No trial completed", StringComparison.Ordinal))
                {
                    // A first point dearer than the whole budget: recorded, not fatal (grid's shuffled start can be).
                    Console.WriteLine($"{tuner} seed {seed}: no trial completed within {budget} s");
                    rows.Add((tuner, seed, 0, double.NaN, double.NaN, double.NaN, budget));
                    continue;
                }
                double toBest = result.Trials.Where(t => t.Id <= result.BestTrial.Id).Sum(t => t.DurationSeconds ?? 0);
                double total = result.Trials.Sum(t => t.DurationSeconds ?? 0);
                var row = (tuner, seed, result.Trials.Count, result.BestTrial.Metric ?? double.NaN, result.TestMetrics.Accuracy ?? double.NaN, toBest, total);
                rows.Add(row);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{tuner} seed {seed}: {row.Item3} trials, best validation {row.Item4:F4}, test {row.Item5:F4}, {toBest:F0} s to best of {total:F0} s"));
                try { Directory.Delete(output, true); } catch (IOException) { }
            }
        Console.WriteLine();
        Console.WriteLine("| tuner | seeds with a completed trial | trials (mean) | best validation acc (mean) | its test acc (mean) | trial seconds to best (mean) | trial seconds in all (mean) |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var g in rows.GroupBy(r => r.Tuner))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {g.Key} | {g.Count(r => r.Trials > 0)}/{g.Count()} | {g.Average(r => r.Trials):F1} | {Mean(g, r => r.Val):F4} | {Mean(g, r => r.Test):F4} | {Mean(g, r => r.ToBest):F0} | {g.Average(r => r.Total):F0} |"));
        return 0;
    }

    // Means over the seeds that completed a trial.
    private static double Mean<T>(IEnumerable<T> rows, Func<T, double> f) => rows.Select(f).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();
}
