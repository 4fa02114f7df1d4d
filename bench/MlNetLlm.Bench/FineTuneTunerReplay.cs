using System.Globalization;
using MlNetLlm.AutoMl;

/// <summary>
/// The tuners replayed on a measured fine-tuning grid (finetune-grid's CSV): each proposes points of the grid's own
/// discrete space, is told the measured validation metric and seconds of that point, and the replay counts the seconds
/// spent until a point within 0.5 point of the grid's best was tried, as a share of the whole grid's seconds.
/// "portfolio" is CFO started from the three configurations that did best on the OTHER data sets of the file (leave one
/// data set out), as the experiment's warm start is chosen from data it is not run on.
///   dotnet run -c Release --project bench/MlNetLlm.Bench -- finetune-tuners --grid FILE.csv [--seeds 1,...,10]
/// </summary>
static class FineTuneTunerReplay
{
    private sealed record Point(string Dataset, double LearningRate, int BatchSize, int Epochs, double Metric, double Seconds);

    public static int Run(string[] args)
    {
        string? gridFile = null;
        int[] seeds = Enumerable.Range(1, 10).ToArray();
        for (int i = 0; i < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--grid": gridFile = args[i + 1]; break;
                case "--seeds": seeds = args[i + 1].Split(',').Select(int.Parse).ToArray(); break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }
        if (gridFile is null) throw new ArgumentException("--grid FILE.csv (written by finetune-grid) is required.");
        var points = File.ReadAllLines(gridFile).Skip(1).Select(l => l.Split(',')).Select(f => new Point(f[0],
            double.Parse(f[1], CultureInfo.InvariantCulture), int.Parse(f[2]), int.Parse(f[3]), double.Parse(f[8], CultureInfo.InvariantCulture), double.Parse(f[9], CultureInfo.InvariantCulture))).ToList();
        Console.WriteLine($"# tuners replayed on {gridFile}: {points.Count} measured points, seeds {string.Join(",", seeds)}");
        Console.WriteLine("| data set | grid points | grid best | tuner | mean share of grid's seconds to within 0.5 pt | seeds at ≤ 30% | seeds never within 0.5 pt |");
        Console.WriteLine("|---|---:|---:|---|---:|---:|---:|");
        foreach (var set in points.GroupBy(p => p.Dataset))
        {
            var table = set.ToList();
            double best = table.Max(p => p.Metric), total = table.Sum(p => p.Seconds);
            var space = new SearchSpace()
                .AddChoice(ParameterNames.LearningRate, table.Select(p => (object)p.LearningRate).Distinct().ToArray())
                .AddChoice(ParameterNames.BatchSize, table.Select(p => (object)p.BatchSize).Distinct().ToArray())
                .AddChoice(ParameterNames.Epochs, table.Select(p => (object)p.Epochs).Distinct().ToArray());
            var portfolio = points.Where(p => p.Dataset != set.Key).GroupBy(p => (p.LearningRate, p.BatchSize, p.Epochs))
                .OrderByDescending(g => g.Average(p => p.Metric)).Take(3)
                .Select(g => new ParameterSet([new(ParameterNames.LearningRate, g.Key.LearningRate), new(ParameterNames.BatchSize, g.Key.BatchSize), new(ParameterNames.Epochs, g.Key.Epochs)]))
                .ToList();
            foreach (string tuner in new[] { "random", "cfo", "tpe", "portfolio" })
            {
                var shares = seeds.Select(seed => Replay(Create(tuner, space, seed, portfolio), table, best - 0.005) / total).ToList();
                var reached = shares.Where(double.IsFinite).ToList();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {set.Key} | {table.Count} | {best:F4} | {tuner} | {(reached.Count == 0 ? "–" : $"{100 * reached.Average():F0}%")} | {reached.Count(s => s <= 0.3)}/{seeds.Length} | {seeds.Length - reached.Count} |"));
            }
        }
        return 0;
    }

    private static ITuner Create(string name, SearchSpace space, int seed, List<ParameterSet> portfolio) => name switch
    {
        "random" => new RandomSearchTuner(space, seed),
        "cfo" => new CfoTuner(space, seed),
        "tpe" => new TpeTuner(space, seed),
        _ => portfolio.Count == 0 ? new CfoTuner(space, seed) : new PortfolioTuner(new CfoTuner(space, seed), portfolio),
    };

    /// <summary>Seconds of grid points tried until one reached <paramref name="level"/> (infinity when none did).</summary>
    private static double Replay(ITuner tuner, List<Point> table, double level)
    {
        double spent = 0;
        var tried = new HashSet<string>();
        for (int i = 0; i < 200 && tried.Count < table.Count; i++)
        {
            var p = tuner.Propose();
            if (p is null) break;
            var point = table.First(t => t.LearningRate == p.GetDouble(ParameterNames.LearningRate) && t.BatchSize == p.GetInt(ParameterNames.BatchSize) && t.Epochs == p.GetInt(ParameterNames.Epochs));
            if (tried.Add(p.Key)) spent += point.Seconds;
            tuner.Report(TrialResult.Completed(p, point.Metric, point.Seconds));
            if (point.Metric >= level) return spent;
        }
        return double.PositiveInfinity;
    }
}
