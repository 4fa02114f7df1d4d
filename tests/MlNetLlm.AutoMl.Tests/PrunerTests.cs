namespace MlNetLlm.AutoMl.Tests;

public class PrunerTests
{
    [Fact]
    public void Rungs_are_geometric_in_epochs()
    {
        var asha = new AshaPruner();
        Assert.Equal([1L, 3, 9, 27], Enumerable.Range(0, 4).Select(asha.RungEpoch));
        var asha2 = new AshaPruner(reductionFactor: 2, minEpochs: 2);
        Assert.Equal([2L, 4, 8, 16], Enumerable.Range(0, 4).Select(asha2.RungEpoch));
    }

    [Fact]
    public void Worse_trials_at_a_rung_are_pruned_and_the_best_never()
    {
        var asha = new AshaPruner(reductionFactor: 3);
        // Trial 1 is alone at rung 1: continues. Trial 2 is worse: top ⌊2/3⌋→1 keeps only trial 1.
        Assert.False(asha.ShouldPrune(1, 1, 0.50));
        Assert.True(asha.ShouldPrune(2, 1, 0.40));
        // A new best always continues.
        Assert.False(asha.ShouldPrune(3, 1, 0.70));
        // 4 trials at the rung, keep ⌊4/3⌋ = 1: 0.60 is second → pruned.
        Assert.True(asha.ShouldPrune(4, 1, 0.60));
        // 5 trials, keep 1: 0.10 → pruned. 6 trials, keep 2: 0.65 is second → continues. 7, keep 2: 0.55 is fourth → pruned.
        Assert.True(asha.ShouldPrune(5, 1, 0.10));
        Assert.False(asha.ShouldPrune(6, 1, 0.65));
        Assert.True(asha.ShouldPrune(7, 1, 0.55));
        Assert.Equal(7, asha.TrialsAtRung(0));
        // Between rungs nothing is decided.
        Assert.False(asha.ShouldPrune(3, 2, 0.10));
        // Rung 3: trial 3 alone continues, trial 6 worse → pruned.
        Assert.False(asha.ShouldPrune(3, 3, 0.80));
        Assert.True(asha.ShouldPrune(6, 3, 0.75));
        Assert.Equal(2, asha.TrialsAtRung(1));
    }

    [Fact]
    public void Randomized_arrivals_match_the_asha_rule_and_spare_the_best()
    {
        var rng = new Random(12);
        const int eta = 3;
        var asha = new AshaPruner(reductionFactor: eta);
        var metrics = Enumerable.Range(0, 81).Select(_ => rng.NextDouble()).ToArray();
        var order = Enumerable.Range(0, 81).ToArray();
        rng.Shuffle(order);
        var atRung = new List<double>();
        int pruned = 0;
        foreach (int trial in order)
        {
            bool prune = asha.ShouldPrune(trial, 1, metrics[trial]);
            atRung.Add(metrics[trial]);
            int keep = Math.Max(1, atRung.Count / eta);
            bool expected = atRung.Count(m => m > metrics[trial]) >= keep;
            Assert.Equal(expected, prune);
            if (metrics[trial] == atRung.Max()) Assert.False(prune); // the best so far is never stopped
            if (prune) pruned++;
        }
        int best = Array.IndexOf(metrics, metrics.Max());
        Assert.False(asha.ShouldPrune(best, 3, metrics[best])); // and it keeps going at the next rung
        Assert.InRange(pruned, 81 / 2, 70); // most trials stop at the first rung (early arrivals are judged among few)
    }

    [Fact]
    public void Nan_max_epochs_min_trials_and_coarse_reports()
    {
        var asha = new AshaPruner(reductionFactor: 3, minEpochs: 1, maxEpochs: 3);
        Assert.True(asha.ShouldPrune(1, 1, double.NaN)); // diverged
        Assert.False(asha.ShouldPrune(2, 1, 0.9));
        Assert.False(asha.ShouldPrune(3, 3, 0.1)); // at max epochs the trial is finishing: never stopped

        var lenient = new AshaPruner(reductionFactor: 2, minTrialsAtRung: 3);
        Assert.False(lenient.ShouldPrune(1, 1, 0.9));
        Assert.False(lenient.ShouldPrune(2, 1, 0.1)); // only 2 at the rung: not judged yet
        Assert.True(lenient.ShouldPrune(3, 1, 0.05));

        // A trial that first reports after epoch 5 enters rungs 1 and 3 and is judged at rung 3.
        var coarse = new AshaPruner();
        Assert.False(coarse.ShouldPrune(1, 3, 0.9));
        Assert.True(coarse.ShouldPrune(2, 5, 0.5));
        Assert.Equal(2, coarse.TrialsAtRung(0));
        Assert.Equal(2, coarse.TrialsAtRung(1));
        // A trial is entered once per rung: reporting epoch 1 again changes nothing.
        Assert.False(coarse.ShouldPrune(1, 1, 0.0));
        Assert.Equal(2, coarse.TrialsAtRung(0));

        // Record replays history without a decision.
        var replay = new AshaPruner();
        replay.Record(1, 1, 0.9);
        replay.Record(2, 1, 0.8);
        Assert.True(replay.ShouldPrune(3, 1, 0.1));
    }

    [Fact]
    public void No_pruner_never_prunes_and_bad_settings_throw()
    {
        for (int t = 0; t < 10; t++) Assert.False(NoPruner.Instance.ShouldPrune(t, 1, t == 0 ? 1 : double.NaN));
        Assert.Throws<ArgumentException>(() => new AshaPruner(reductionFactor: 1));
        Assert.Throws<ArgumentException>(() => new AshaPruner(minEpochs: 0));
        Assert.Throws<ArgumentException>(() => new AshaPruner(maxEpochs: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AshaPruner().ShouldPrune(1, 0, 0.5));
    }

    [Fact]
    public void Concurrent_reports_are_consistent()
    {
        var asha = new AshaPruner(reductionFactor: 4);
        int pruned = 0;
        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            if (asha.ShouldPrune(i, 1, (i * 7919 % 400) / 400.0)) Interlocked.Increment(ref pruned);
        });
        Assert.Equal(400, asha.TrialsAtRung(0));
        Assert.False(asha.ShouldPrune(1000, 1, 2.0));
        Assert.InRange(pruned, 1, 399);
    }
}
