using MlNetLlm.AutoMl.Experiments;

namespace MlNetLlm.AutoMl.Tests;

public class CandidateChooserTests
{
    private static CandidateChooser Scenario(int seed = 1)
    {
        var c = new CandidateChooser(seed);
        // "cheap": 1 s trials, best (0.80, the leader) at its first trial, then stalled for 50 s.
        c.Record("cheap", 1, 0.80);
        for (int i = 0; i < 50; i++) c.Record("cheap", 1, 0.79);
        // "slow": 10 s trials, improving every time, 0.02 behind the leader.
        c.Record("slow", 10, 0.70);
        c.Record("slow", 10, 0.75);
        c.Record("slow", 10, 0.78);
        // "broken": only failures; "flat": behind and not improving.
        c.Record("broken", 5, double.NaN);
        c.Record("broken", 5, double.NaN);
        c.Record("flat", 3, 0.5);
        c.Record("flat", 3, 0.5);
        return c;
    }

    [Fact]
    public void Estimated_cost_for_improvement_follows_the_documented_formula()
    {
        var c = Scenario();
        Assert.Equal(50, c.EstimatedCostForImprovement("cheap"), 9);   // time since its last improvement
        Assert.Equal(10, c.EstimatedCostForImprovement("slow"), 9);    // max(10 between improvements, 0.02 / (0.08 / 30 s) = 7.5)
        Assert.Equal(20, c.EstimatedCostForImprovement("broken"), 9);  // 2 × its 10 s
        Assert.Equal(12, c.EstimatedCostForImprovement("flat"), 9);    // behind, no improvement: 2 × its 6 s
        Assert.Equal(0, c.EstimatedCostForImprovement("new"));
    }

    [Fact]
    public void Picks_untried_first_then_in_proportion_to_inverse_cost()
    {
        var c = Scenario();
        Assert.Equal("new", c.Choose(["cheap", "new", "slow"]));
        Assert.Null(c.Choose([]));
        int slow = 0, n = 4000;
        for (int i = 0; i < n; i++) if (c.Choose(["cheap", "slow"]) == "slow") slow++;
        // 1/10 against 1/50: the improving candidate gets 5 of 6 picks even though each of its trials costs 10×.
        Assert.InRange(slow / (double)n, 0.80, 0.87);
        var picks = Enumerable.Range(0, n).Select(_ => c.Choose(["cheap", "slow", "broken", "flat"])).GroupBy(x => x).ToDictionary(g => g.Key!, g => g.Count());
        Assert.True(picks["broken"] > 0 && picks["cheap"] > 0, "no candidate is starved");
        Assert.True(picks["slow"] > picks["flat"] && picks["flat"] > picks["broken"] && picks["broken"] > picks["cheap"]);
    }

    [Fact]
    public void Same_seed_same_choices()
    {
        var a = Scenario(7);
        var b = Scenario(7);
        Assert.Equal(Enumerable.Range(0, 50).Select(_ => a.Choose(["cheap", "slow", "flat"])), Enumerable.Range(0, 50).Select(_ => b.Choose(["cheap", "slow", "flat"])));
    }
}
