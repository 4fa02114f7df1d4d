namespace MlNetLlm.AutoMl.Tests;

public class TunerTests
{
    private static readonly int[] Seeds = [0, 1, 2, 3, 4, 5, 6];

    // ---------- CFO ----------

    /// <summary>Every trial scores the same (a model stuck at the majority class) and costs epochs × (1 ± 5% timing noise).</summary>
    private static int RestartsOnPlateau(double costTieMargin, int seed)
    {
        var space = new SearchSpace()
            .AddFloat("LearningRate", 3e-4, 3e-3, log: true, defaultValue: 1e-3, lowCost: 1e-3)
            .AddChoice("BatchSize", [32, 64], defaultValue: 32, lowCost: 64)
            .AddInt("Epochs", 1, 3, defaultValue: 2, lowCost: 1);
        var cfo = new CfoTuner(space, seed, new CfoOptions { CostTieMargin = costTieMargin });
        var noise = new Random(seed + 100);
        for (int i = 0; i < 40 && cfo.Propose() is { } p; i++)
            cfo.Report(TrialResult.Completed(p, 0.65, p.GetInt("Epochs") * (1 + 0.05 * (2 * noise.NextDouble() - 1))));
        return cfo.Restarts;
    }

    [Fact]
    public void Cfo_on_a_plateau_does_not_mistake_timing_noise_for_progress()
    {
        foreach (int seed in Seeds)
        {
            // The step shrinks on a run of ties and the search restarts elsewhere (with no margin it never does).
            Assert.True(RestartsOnPlateau(costTieMargin: 0.1, seed) > 0, $"seed {seed}: no restart in 40 flat trials");
        }
    }

    [Fact]
    public void Cfo_starts_at_the_low_cost_point()
    {
        var space = Bowl.Space();
        var tuner = new CfoTuner(space, seed: 3);
        Assert.Equal(space.LowCost(), tuner.Propose());
        var transformer = SearchSpaces.TransformerFineTune();
        Assert.Equal(transformer.LowCost(), new CfoTuner(transformer).Propose());
    }

    [Fact]
    public void Cfo_gets_close_to_the_optimum_within_a_fixed_budget()
    {
        // 50 trials on the noisy bowl (optimum 1.0; the low-cost start is at -0.56).
        var best = Seeds.Select(seed => Bowl.Run(new CfoTuner(Bowl.Space(), seed), 50, noiseSeed: 100 + seed).Values.Max()).ToList();
        Assert.True(Bowl.Median(best) >= 0.97, $"median best {Bowl.Median(best):F3} over seeds: {string.Join(", ", best.Select(b => b.ToString("F3")))}");
        Assert.All(best, b => Assert.True(b >= 0.8, $"a seed only reached {b:F3}"));
    }

    [Fact]
    public void Cfo_spends_less_than_grid_search_to_reach_a_good_level()
    {
        const double level = 0.9; // a level the 5-step grid can reach
        var cfo = Seeds.Select(seed =>
        {
            var run = Bowl.Run(new CfoTuner(Bowl.Space(), seed), 200, noiseSeed: 100 + seed);
            return Bowl.CostToReach(run.Values, run.Costs, level);
        }).ToList();
        var grid = Seeds.Select(seed =>
        {
            var run = Bowl.Run(new GridSearchTuner(Bowl.Space(), stepsPerDimension: 5, shuffle: true, seed: seed), 1000, noiseSeed: 100 + seed);
            return Bowl.CostToReach(run.Values, run.Costs, level);
        }).ToList();
        Assert.All(cfo, c => Assert.True(double.IsFinite(c)));
        Assert.All(grid, c => Assert.True(double.IsFinite(c)));
        Assert.True(Bowl.Median(cfo) < Bowl.Median(grid),
            $"CFO median cost {Bowl.Median(cfo):F1} [{string.Join(", ", cfo.Select(c => c.ToString("F0")))}] vs grid {Bowl.Median(grid):F1} [{string.Join(", ", grid.Select(c => c.ToString("F0")))}]");
        // Cost-frugal: the early trials are cheap (the first is the cheapest point of the space).
        var first = Bowl.Run(new CfoTuner(Bowl.Space(), 0), 1, 0);
        Assert.Equal(Bowl.Cost(Bowl.Space().LowCost()), first.Costs[0]);
    }

    [Fact]
    public void Cfo_survives_failures_including_the_first_trial()
    {
        var space = Bowl.Space();
        var tuner = new CfoTuner(space, seed: 1);
        int failures = 0;
        for (int t = 0; t < 60; t++)
        {
            var p = tuner.Propose()!;
            // The first trial and everything with batch size 128 fails (say, out of memory).
            if (t == 0 || p.GetInt("BatchSize") == 128)
            {
                failures++;
                tuner.Report(TrialResult.Failed(p, 1));
            }
            else tuner.Report(TrialResult.Completed(p, Bowl.Value(p), Bowl.Cost(p)));
        }
        Assert.True(failures >= 1);
        Assert.NotNull(tuner.Best);
        Assert.True(tuner.Best!.IsSuccess);
        Assert.NotEqual(128, tuner.Best.Parameters.GetInt("BatchSize"));
        Assert.True(Bowl.Value(tuner.Best.Parameters) > 0.8, $"best {Bowl.Value(tuner.Best.Parameters):F3}");
    }

    [Fact]
    public void Cfo_shrinks_and_restarts_when_nothing_improves()
    {
        var space = Bowl.Space();
        var tuner = new CfoTuner(space, seed: 2, new CfoOptions { MinStep = 0.02 });
        double initial = tuner.Step;
        double smallest = initial;
        var proposed = new HashSet<ParameterSet>();
        for (int t = 0; t < 80; t++)
        {
            var p = tuner.Propose();
            if (p is null) break;
            Assert.True(proposed.Add(p), $"proposed {p} twice");
            tuner.Report(TrialResult.Completed(p, 0.5, 1)); // flat: no point is ever better
            smallest = Math.Min(smallest, tuner.Step);
        }
        Assert.True(smallest < initial);
        Assert.True(tuner.Restarts >= 1, "expected a restart from a random point");
    }

    [Fact]
    public void Cfo_prefers_the_cheaper_of_equal_results()
    {
        var space = new SearchSpace().AddInt("Epochs", 1, 10, lowCost: 5);
        var tuner = new CfoTuner(space, seed: 0, new CfoOptions { MinStep = 1e-3 });
        var tried = new List<int>();
        for (int t = 0; t < 8; t++)
        {
            var p = tuner.Propose()!;
            tried.Add(p.GetInt("Epochs"));
            tuner.Report(TrialResult.Completed(p, 0.7, p.GetInt("Epochs")));
        }
        // Equal metrics everywhere: the search walks from 5 epochs down to the cheapest setting.
        // (Once there, the local search has converged and restarts elsewhere.)
        Assert.Equal(5, tried[0]);
        int firstOne = tried.IndexOf(1);
        Assert.InRange(firstOne, 3, 6); // 5 → 4 → 3 → (2 →) 1, with a probe or two upwards on the way
        var down = tried.Take(firstOne + 1).Where(e => e <= 5).ToList();
        Assert.Equal(down.Distinct().OrderByDescending(e => e), down); // every accepted move goes down
        Assert.Equal(1, tuner.Best!.Parameters.GetInt("Epochs"));
    }

    [Fact]
    public void Cfo_hands_out_distinct_points_to_parallel_workers_and_accepts_foreign_results()
    {
        var space = Bowl.Space();
        var tuner = new CfoTuner(space, seed: 4);
        var batch = Enumerable.Range(0, 6).Select(_ => tuner.Propose()!).ToList();
        Assert.Equal(6, batch.Distinct().Count());
        foreach (var p in Enumerable.Reverse(batch)) tuner.Report(TrialResult.Completed(p, Bowl.Value(p), Bowl.Cost(p)));
        // A result it never proposed (another worker's) that is the best so far becomes the incumbent.
        var optimum = space.Create(new Dictionary<string, object> { ["LearningRate"] = 3e-4, ["BatchSize"] = 32, ["Epochs"] = 7 });
        tuner.Report(TrialResult.Completed(optimum, 1.0, 10));
        Assert.Equal(optimum, tuner.Incumbent!.Parameters);
        Assert.Equal(optimum, tuner.Best!.Parameters);
    }

    [Fact]
    public void Cfo_returns_null_when_a_finite_space_is_exhausted()
    {
        var space = new SearchSpace().AddChoice("a", ["x", "y"]).AddInt("b", 1, 3);
        var tuner = new CfoTuner(space, seed: 0);
        var seen = new HashSet<ParameterSet>();
        for (int t = 0; t < 20; t++)
        {
            var p = tuner.Propose();
            if (p is null) break;
            Assert.True(seen.Add(p));
            tuner.Report(TrialResult.Completed(p, p.GetInt("b"), 1));
        }
        Assert.Equal(6, seen.Count);
        Assert.Null(tuner.Propose());
    }

    // ---------- Random ----------

    [Fact]
    public void Random_search_starts_at_the_defaults_and_covers_the_space()
    {
        var space = Bowl.Space();
        var tuner = new RandomSearchTuner(space, seed: 11);
        Assert.Equal(space.Defaults(), tuner.Propose());
        var points = Enumerable.Range(0, 400).Select(_ => tuner.Propose()!).ToList();
        Assert.Equal(points.Count, points.Distinct().Count());
        Assert.Equal(new HashSet<int> { 8, 16, 32, 64, 128 }, points.Select(p => p.GetInt("BatchSize")).ToHashSet());
        Assert.Equal(Enumerable.Range(1, 10).ToHashSet(), points.Select(p => p.GetInt("Epochs")).ToHashSet());
        var lr = points.Select(p => Math.Log10(p.GetDouble("LearningRate"))).ToList();
        Assert.True(lr.Min() < -5.8 && lr.Max() > -2.2, $"log10 lr spans [{lr.Min():F2}, {lr.Max():F2}]");
        // Log-uniform: the lower half of the log range gets about half the samples.
        Assert.InRange(lr.Count(v => v < -4), 160, 240);
    }

    [Fact]
    public void Random_search_on_a_finite_space_ends()
    {
        var space = new SearchSpace().AddChoice("a", ["x", "y", "z"]).AddInt("b", 1, 2);
        var tuner = new RandomSearchTuner(space, seed: 1);
        var all = new List<ParameterSet>();
        while (tuner.Propose() is { } p) all.Add(p);
        Assert.Equal(6, all.Count);
        Assert.Equal(6, all.Distinct().Count());
    }

    // ---------- Grid ----------

    [Fact]
    public void Grid_enumerates_the_cartesian_product_then_stops()
    {
        var space = Bowl.Space();
        var ordered = new GridSearchTuner(space, stepsPerDimension: 4, shuffle: false);
        Assert.Equal(4 * 5 * 4, ordered.Count);
        var inOrder = Drain(ordered);
        Assert.False(ordered.HasMore);
        Assert.Null(ordered.Propose());
        Assert.Equal(80, inOrder.Count);
        Assert.Equal(80, inOrder.Distinct().Count());

        var lrs = inOrder.Select(p => p.GetDouble("LearningRate")).Distinct().Order().ToList();
        Assert.Equal(4, lrs.Count);
        Assert.Equal(1e-6, lrs[0], 12);
        Assert.Equal(1e-2, lrs[3], 12);
        Assert.Equal(4.0 / 3, Math.Log10(lrs[1]) - Math.Log10(lrs[0]), 9); // log-spaced
        Assert.Equal(4.0 / 3, Math.Log10(lrs[2]) - Math.Log10(lrs[1]), 9);
        Assert.Equal([1, 4, 7, 10], inOrder.Select(p => p.GetInt("Epochs")).Distinct().Order());
        Assert.Equal(5, inOrder.Select(p => p.GetInt("BatchSize")).Distinct().Count());
        // In order: the last parameter varies fastest.
        Assert.Equal([1, 4, 7, 10], inOrder.Take(4).Select(p => p.GetInt("Epochs")));

        var shuffled = Drain(new GridSearchTuner(space, stepsPerDimension: 4, shuffle: true, seed: 9));
        Assert.Equal(inOrder.ToHashSet(), shuffled.ToHashSet());
        Assert.NotEqual(inOrder, shuffled);
        Assert.Equal(shuffled, Drain(new GridSearchTuner(space, stepsPerDimension: 4, shuffle: true, seed: 9)));
        Assert.NotEqual(shuffled, Drain(new GridSearchTuner(space, stepsPerDimension: 4, shuffle: true, seed: 10)));
    }

    [Fact]
    public void Grid_steps_per_parameter_and_narrow_int_ranges()
    {
        var space = new SearchSpace().AddInt("layers", 1, 3).AddFloat("dropout", 0, 0.5).AddChoice("opt", ["a", "b"]);
        var grid = new GridSearchTuner(space, stepsPerDimension: 10, stepsPerParameter: new Dictionary<string, int> { ["dropout"] = 3 });
        Assert.Equal(3 * 3 * 2, grid.Count); // 10 steps over 3 ints → 3 distinct values
        Assert.Equal(new object[] { 0.0, 0.25, 0.5 }, grid.Axes[1]);
        var one = new GridSearchTuner(space, stepsPerDimension: 1);
        Assert.Equal(2, one.Count); // defaults for numbers, every choice
        Assert.Contains("unknown parameter 'drop'", Assert.Throws<ArgumentException>(() =>
            new GridSearchTuner(space, stepsPerParameter: new Dictionary<string, int> { ["drop"] = 2 })).Message);
        Assert.Throws<ArgumentException>(() => new GridSearchTuner(space, stepsPerDimension: 0));
    }

    // ---------- TPE ----------

    [Fact]
    public void Tpe_beats_random_search_on_the_bowl()
    {
        const int budget = 30;
        var tpe = Seeds.Select(seed => Bowl.Run(new TpeTuner(Bowl.Space(), seed), budget, noiseSeed: 100 + seed).Values.Max()).ToList();
        var random = Seeds.Select(seed => Bowl.Run(new RandomSearchTuner(Bowl.Space(), seed), budget, noiseSeed: 100 + seed).Values.Max()).ToList();
        // Median regret (distance to the optimum 1.0) at least a third smaller.
        double tpeRegret = 1 - Bowl.Median(tpe), randomRegret = 1 - Bowl.Median(random);
        Assert.True(tpeRegret < 0.67 * randomRegret,
            $"TPE median best {Bowl.Median(tpe):F3} [{string.Join(", ", tpe.Select(v => v.ToString("F3")))}] vs random {Bowl.Median(random):F3} [{string.Join(", ", random.Select(v => v.ToString("F3")))}]");
    }

    [Fact]
    public void Tpe_uses_random_startup_then_concentrates_near_good_points()
    {
        var space = Bowl.Space();
        var tuner = new TpeTuner(space, seed: 5, new TpeOptions { StartupTrials = 8 });
        Assert.Equal(space.Defaults(), tuner.Propose());
        var run = Bowl.Run(tuner, 40, noiseSeed: 1, noise: 0);
        double early = run.Values.Take(8).Average(), late = run.Values.Skip(25).Average();
        Assert.True(late > early + 0.2, $"late trials average {late:F3}, startup {early:F3}");
    }

    [Fact]
    public void Tpe_treats_failed_trials_as_bad()
    {
        var space = new SearchSpace().AddFloat("x", 0, 1);
        var tuner = new TpeTuner(space, seed: 2, new TpeOptions { StartupTrials = 5 });
        for (int t = 0; t < 40; t++)
        {
            var p = tuner.Propose()!;
            double x = p.GetDouble("x");
            // Higher x is better, but x > 0.8 fails.
            tuner.Report(x > 0.8 ? TrialResult.Failed(p, 1) : TrialResult.Completed(p, x, 1));
        }
        var late = Enumerable.Range(0, 20).Select(_ => tuner.Propose()!.GetDouble("x")).ToList();
        Assert.True(tuner.Best!.Parameters.GetDouble("x") > 0.7);
        Assert.True(tuner.Best.Parameters.GetDouble("x") <= 0.8);
        // It searches next to the best successes, at the edge of the failing region, not inside it.
        string trace = string.Join(", ", late.Select(x => x.ToString("F2")));
        Assert.True(late.Count(x => x > 0.9) <= 2, trace);
        Assert.InRange(late.Average(), 0.65, 0.86);
    }

    // ---------- all tuners ----------

    public static TheoryData<string> TunerNames => new() { "cfo", "random", "grid", "tpe" };

    private static ITuner Make(string name, SearchSpace space, int seed) => name switch
    {
        "cfo" => new CfoTuner(space, seed),
        "random" => new RandomSearchTuner(space, seed),
        "grid" => new GridSearchTuner(space, 4, shuffle: true, seed: seed),
        "tpe" => new TpeTuner(space, seed, new TpeOptions { StartupTrials = 5 }),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(TunerNames))]
    public void Tuners_are_deterministic_given_seed_and_results(string name)
    {
        List<string> Trace(int seed)
        {
            var tuner = Make(name, SearchSpaces.TransformerFineTune(), seed);
            var rng = new Random(42);
            var trace = new List<string>();
            for (int t = 0; t < 30; t++)
            {
                var p = tuner.Propose();
                if (p is null) break;
                trace.Add(p.ToJson());
                double m = rng.NextDouble();
                tuner.Report(m < 0.1 ? TrialResult.Failed(p, 1) : m < 0.2 ? TrialResult.Pruned(p, m, 1, 1) : TrialResult.Completed(p, m, 2));
            }
            return trace;
        }
        var a = Trace(7);
        Assert.Equal(30, a.Count);
        Assert.Equal(a, Trace(7));
        Assert.NotEqual(a, Trace(8));
    }

    [Theory]
    [MemberData(nameof(TunerNames))]
    public void Tuners_reject_results_outside_their_space(string name)
    {
        var tuner = Make(name, Bowl.Space(), 0);
        var bad = new ParameterSet([new("LearningRate", 1e-4), new("BatchSize", 12), new("Epochs", 3)]);
        Assert.Contains("BatchSize", Assert.Throws<ArgumentException>(() => tuner.Report(TrialResult.Completed(bad, 1, 1))).Message);
        var unknown = tuner.Space.Defaults().With("Momentum", 0.9);
        Assert.Contains("'Momentum'", Assert.Throws<ArgumentException>(() => tuner.Report(TrialResult.Completed(unknown, 1, 1))).Message);
    }

    [Fact]
    public void Best_ignores_failed_and_pruned_trials_and_breaks_ties_by_cost()
    {
        var space = Bowl.Space();
        var tuner = new RandomSearchTuner(space, 0);
        var a = space.Defaults();
        var b = a.With("Epochs", 5);
        var c = a.With("Epochs", 9);
        tuner.Report(TrialResult.Failed(c, 1));
        Assert.Null(tuner.Best);
        tuner.Report(TrialResult.Pruned(c, 0.99, 1, 1));
        Assert.Null(tuner.Best);
        tuner.Report(TrialResult.Completed(a, 0.8, 10));
        tuner.Report(TrialResult.Completed(b, 0.8, 5));
        Assert.Equal(b, tuner.Best!.Parameters);
        tuner.Report(new TrialResult(c, double.NaN, 1));
        Assert.Equal(b, tuner.Best!.Parameters);
    }

    private static List<ParameterSet> Drain(ITuner tuner)
    {
        var list = new List<ParameterSet>();
        while (tuner.Propose() is { } p) list.Add(p);
        return list;
    }
}
