using System.Globalization;
using Microsoft.ML;
using MlNetLlm.AutoMl;
using MlNetLlm.AutoMl.Experiments;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Estimators;
using MlNetLlm.Modeling.Training;

/// <summary>
/// CFO vs random vs grid at equal time budgets on Amazon Fine Foods (given split), one neural candidate, several seeds:
/// best validation accuracy, the test accuracy of that model, and the compute (trial seconds) spent until the best trial.
///   dotnet run -c Release --project bench/MlNetLlm.Bench -- tuners [--candidate lstm|transformer] [--budget 60] [--seeds 1,2,3]
///       [--tuners cfo,random,grid] [--space sweep|full] [--threads 2] [--log-dir DIR]
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
        string? logDir = null; // each run's trials.csv, when given
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
                case "--log-dir": logDir = Directory.CreateDirectory(v).FullName; break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }
        string root = new BenchOptions().RepoRoot;
        var candidates = spaceName == "full" ? null : new[] { SweepCandidate(candidate) };
        Console.WriteLine($"# tuners on amazon_fine_foods, candidate {candidate}, space {spaceName}, {budget} s per experiment, seeds {string.Join(",", seeds)}, {threads} threads, {DateTime.UtcNow:yyyy-MM-dd}");
        var runs = new List<TunerRun>();
        // Grid first: the others are measured against its best on the same seed (same validation split).
        foreach (var tuner in tuners.OrderBy(t => t == "grid" ? 0 : 1))
            foreach (var seed in seeds)
            {
                string output = Path.Combine(Path.GetTempPath(), $"mlnetllm-tuners-{tuner}-{seed}-{Guid.NewGuid():N}");
                TunerRun run;
                try
                {
                    var result = TextExperiment.Run(new MLContext(seed), new ExperimentOptions
                    {
                        Data = BenchDatasets.Options("amazon", root) with { Seed = seed },
                        GridStepsPerDimension = spaceName == "sweep" ? 3 : 5, TrainTime = TimeSpan.FromSeconds(budget), Tuner = Enum.Parse<TunerKind>(tuner, ignoreCase: true),
                        Candidates = [candidate], Device = new DeviceOptions { Threads = threads },
                    }, output, candidates);
                    var trials = result.Trials.OrderBy(t => t.Id).Select(t => (Seconds: t.DurationSeconds ?? 0, Metric: t.Status == TrialStatus.Completed ? t.Metric ?? double.NaN : double.NaN)).ToList();
                    run = new TunerRun(tuner, seed, trials, result.BestTrial.Metric ?? double.NaN, result.TestMetrics.Accuracy ?? double.NaN,
                        result.Trials.Where(t => t.Id <= result.BestTrial.Id).Sum(t => t.DurationSeconds ?? 0));
                    if (logDir is not null) File.WriteAllText(Path.Combine(logDir, $"{candidate}-{tuner}-{seed}.csv"), ExperimentOutputs.TrialsCsv(result));
                }
                catch (InvalidOperationException e) when (e.Message.StartsWith("No trial completed", StringComparison.Ordinal))
                {
                    // A first point dearer than the whole budget: recorded, not fatal.
                    run = new TunerRun(tuner, seed, [], double.NaN, double.NaN, double.NaN);
                }
                runs.Add(run);
                var grid = runs.FirstOrDefault(r => r.Tuner == "grid" && r.Seed == seed);
                string reach = grid is null || tuner == "grid" ? "" : string.Create(CultureInfo.InvariantCulture, $", {run.ToReach(grid.BestValidation - 0.005):F0} s to within 0.5 point of grid's best validation");
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{tuner} seed {seed}: {run.Trials.Count} trials, best validation {run.BestValidation:F4}, test {run.Test:F4}, {run.ToBest:F0} s to best of {run.Total:F0} s{reach}"));
                try { Directory.Delete(output, true); } catch (IOException) { }
            }

        Console.WriteLine();
        Console.WriteLine("| tuner | seed | trials | best validation acc | its test acc | trial s to best | trial s in all | trial s to within 0.5 pt of grid's best validation (same seed) | that ÷ grid's trial s in all |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in runs)
        {
            var grid = runs.FirstOrDefault(g => g.Tuner == "grid" && g.Seed == r.Seed);
            double reach = grid is null || r.Tuner == "grid" ? double.NaN : r.ToReach(grid.BestValidation - 0.005);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Tuner} | {r.Seed} | {r.Trials.Count} | {r.BestValidation:F4} | {r.Test:F4} | {r.ToBest:F0} | {r.Total:F0} | {(double.IsNaN(reach) ? (r.Tuner == "grid" ? "" : "not reached") : reach.ToString("F0", CultureInfo.InvariantCulture))} | {(double.IsNaN(reach) ? "" : $"{100 * reach / grid!.Total:F0}%")} |"));
        }
        Console.WriteLine();
        Console.WriteLine("| tuner | mean best validation acc | mean test acc | mean trial s in all | seeds within 0.5 pt of grid's best validation using ≤ 30% of grid's compute |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var g in runs.GroupBy(r => r.Tuner))
        {
            int meets = g.Count(r => runs.FirstOrDefault(x => x.Tuner == "grid" && x.Seed == r.Seed) is { } grid && r.Tuner != "grid" && r.ToReach(grid.BestValidation - 0.005) <= 0.3 * grid.Total);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {g.Key} | {Mean(g, r => r.BestValidation):F4} | {Mean(g, r => r.Test):F4} | {g.Average(r => r.Total):F0} | {(g.Key == "grid" ? "" : $"{meets}/{g.Count()}")} |"));
        }
        return 0;
    }

    /// <summary>One experiment: its trials in order (seconds, validation metric; NaN unless completed) and its best.</summary>
    private sealed record TunerRun(string Tuner, int Seed, List<(double Seconds, double Metric)> Trials, double BestValidation, double Test, double ToBest)
    {
        public double Total => Trials.Sum(t => t.Seconds);

        /// <summary>Trial seconds spent until a completed trial reached <paramref name="level"/> (NaN: never).</summary>
        public double ToReach(double level)
        {
            double spent = 0;
            foreach (var (seconds, metric) in Trials)
            {
                spent += seconds;
                if (metric >= level) return spent;
            }
            return double.NaN;
        }
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
