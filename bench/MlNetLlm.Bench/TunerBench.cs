using System.Globalization;
using Microsoft.ML;
using MlNetLlm.AutoMl;
using MlNetLlm.AutoMl.Experiments;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Estimators;

/// <summary>
/// CFO vs random vs grid at equal time budgets on Amazon Fine Foods (given split), one neural candidate, several seeds:
/// best validation accuracy, the test accuracy of that model, and the compute (trial seconds) spent until the best trial.
///   dotnet run -c Release --project bench/MlNetLlm.Bench -- tuners [--candidate lstm|transformer] [--budget 60] [--seeds 1,2,3]
///       [--tuners cfo,random,grid] [--space sweep|full] [--threads 2]
/// --space sweep (default) tunes what the issue names, learning rate (3 grid steps), batch size {32, 64} and epochs 1-3,
/// with the rest at the trainer's defaults and max length 64: an 18-point grid that grid search can finish, so the
/// table can say whether CFO gets within 0.5 point of grid's best with at most 30% of grid's compute.
/// --space full uses the candidate's default search space (src/AutoMl/SearchSpace/SearchSpaces.cs).
/// </summary>
static class TunerBench
{
    public static int Run(string[] args)
    {
        string candidate = "lstm";
        int budget = 60;
        int[] seeds = [1, 2, 3];
        string[] tuners = ["cfo", "random", "grid"];
        string spaceName = "sweep";
        int threads = 2;
        for (int i = 0; i < args.Length; i += 2)
        {
            string v = args[i + 1];
            switch (args[i])
            {
                case "--candidate": candidate = v; break;
                case "--budget": budget = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--seeds": seeds = v.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--tuners": tuners = v.Split(','); break;
                case "--space": spaceName = v is "sweep" or "full" ? v : throw new ArgumentException("--space is sweep or full."); break;
                case "--threads": threads = int.Parse(v, CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }
        string root = new BenchOptions().RepoRoot;
        var candidates = spaceName == "full" ? null : new[] { SweepCandidate(candidate) };
        Console.WriteLine($"# tuners on amazon_fine_foods, candidate {candidate}, space {spaceName}, {budget} s per experiment, seeds {string.Join(",", seeds)}, {threads} threads, {DateTime.UtcNow:yyyy-MM-dd}");
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
                    SplitColumn = "split", GridStepsPerDimension = spaceName == "sweep" ? 3 : 5, TrainTime = TimeSpan.FromSeconds(budget), Tuner = tuner, Candidates = [candidate], Seed = seed,
                    Device = new DeviceOptions { Threads = threads },
                }, output, candidates);
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
        var grid = rows.Where(r => r.Tuner == "grid" && r.Trials > 0).ToList();
        if (grid.Count > 0)
        {
            double gridBest = grid.Max(r => r.Test), gridCompute = grid.Average(r => r.Total);
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Target: within 0.5 point of grid's best test accuracy ({gridBest:F4}) with at most 30% of grid's compute ({gridCompute:F0} trial seconds per run)."));
            foreach (var g in rows.Where(r => r.Tuner != "grid").GroupBy(r => r.Tuner))
            {
                double test = Mean(g, r => r.Test), toBest = Mean(g, r => r.ToBest);
                bool close = gridBest - test <= 0.005, cheap = toBest <= 0.3 * gridCompute;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{g.Key}: mean test {test:F4} ({100 * (test - gridBest):+0.0;-0.0} points vs grid's best), mean compute to its best {toBest:F0} s = {100 * toBest / gridCompute:F0}% of grid's: {(close && cheap ? "meets" : "misses")} the target"));
            }
        }
        return 0;
    }

    /// <summary>The candidate over learning rate, batch size and epochs only (see the class comment).</summary>
    private static Candidate SweepCandidate(string name)
    {
        var (encoder, lo, hi, lr) = name switch
        {
            "lstm" => (TextEncoderKind.Lstm, 3e-4, 3e-2, 3e-3),
            "transformer" => (TextEncoderKind.Transformer, 3e-4, 3e-3, 1e-3),
            _ => throw new ArgumentException($"--candidate is lstm or transformer (got '{name}')."),
        };
        var space = new SearchSpace()
            .AddFloat(ParameterNames.LearningRate, lo, hi, log: true, defaultValue: lr, lowCost: lr)
            .AddChoice(ParameterNames.BatchSize, [32, 64], defaultValue: 32, lowCost: 64)
            .AddInt(ParameterNames.Epochs, 1, 3, defaultValue: 2, lowCost: 1)
            .AddChoice(ParameterNames.MaxLength, [64], defaultValue: 64);
        return new NeuralCandidate(name, space, encoder);
    }

    // Means over the seeds that completed a trial.
    private static double Mean<T>(IEnumerable<T> rows, Func<T, double> f) => rows.Select(f).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();
}
