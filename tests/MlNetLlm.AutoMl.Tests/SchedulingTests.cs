using MlNetLlm.AutoMl.Scheduling;

namespace MlNetLlm.AutoMl.Tests;

/// <summary>The scheduler's pieces with made-up costs and metrics: no training.</summary>
public class SchedulingTests
{
    [Fact]
    public void Cost_model_scales_measured_epochs_by_rows_and_length_and_adds_validation()
    {
        var m = new TrialCostModel();
        Assert.Null(m.EpochSeconds("fine-tune", 1000, 200, 128));
        m.RecordEpoch("fine-tune", rows: 800, maxLength: 128, seconds: 40);   // 0.05 s per row at 128 tokens
        Assert.Equal(0.05 * 3200 + TrialCostModel.ValidationShare * 0.05 * 800, m.EpochSeconds("fine-tune", 3200, 800, 128)!.Value, 9);
        Assert.Equal(0.025 * 3200, m.EpochSeconds("fine-tune", 3200, 0, 64)!.Value, 9);
        Assert.Equal(3 * m.EpochSeconds("fine-tune", 3200, 800, 128)!.Value, m.TrialSeconds("fine-tune", 3200, 800, 128, 3)!.Value, 9);
        m.RecordTrial("tfidf+sdca", 2);
        m.RecordTrial("tfidf+sdca", 4);
        Assert.Equal(3, m.FirstResultSeconds("tfidf+sdca", 3200, 800, null));
    }

    [Fact]
    public void A_tree_trial_is_costed_by_its_trees_times_leaves()
    {
        // Measured on this project's main job: embeddings+lightgbm took 0.4 s at 100 trees x 20 leaves, then 50 s at
        // 500 x 136 started with 5 s of budget left. Costed per unit of trees x leaves, the second is foreseen.
        var m = new TrialCostModel();
        var small = new ParameterSet(new Dictionary<string, object> { [ParameterNames.NumberOfIterations] = 100, [ParameterNames.NumberOfLeaves] = 20 });
        var large = new ParameterSet(new Dictionary<string, object> { [ParameterNames.NumberOfIterations] = 500, [ParameterNames.NumberOfLeaves] = 136 });
        m.RecordTrial("embeddings+lightgbm", 0.4, TrialCostModel.Work(small));
        Assert.Equal(0.4 * 500 * 136 / (100 * 20), m.FirstResultSeconds("embeddings+lightgbm", 3200, 800, null, TrialCostModel.Work(large))!.Value, 9);
        // Learners without trees cost what their trials cost.
        m.RecordTrial("tfidf+sdca", 2.0, TrialCostModel.Work(new ParameterSet(new Dictionary<string, object> { [ParameterNames.L2Regularization] = 0.1 })));
        Assert.Equal(2.0, m.FirstResultSeconds("tfidf+sdca", 3200, 800, null)!.Value, 9);
    }

    [Fact]
    public void The_ladder_promotes_the_better_half_of_each_rung()
    {
        var l = FidelityLadder.Default();
        l.Record("a", 0, 0.70);
        Assert.Empty(l.Promotions()); // one result: ⌊1/2⌋ = 0 climb
        l.Record("b", 0, 0.80);
        Assert.Equal([("b", 1)], l.Promotions());
        l.Record("c", 0, 0.75);
        l.Record("d", 0, 0.60);
        Assert.Equal([("b", 1), ("c", 1)], l.Promotions());
        l.Started("b", 1);
        Assert.Equal([("c", 1)], l.Promotions());
        l.Record("b", 1, 0.82);
        l.Record("c", 1, 0.84);
        Assert.Equal([("c", 2)], l.Promotions()); // the highest rung's promotion comes first
        Assert.False(l.HasTopResult);
        l.Record("c", 2, 0.86);
        Assert.True(l.HasTopResult);
    }

    [Fact]
    public void Failed_configurations_never_climb_and_the_final_promotion_takes_the_highest_rung_reached()
    {
        var l = FidelityLadder.Default();
        l.Record("a", 0, double.NaN);
        l.Record("b", 0, 0.70);
        Assert.Equal([("b", 1)], l.Promotions());
        Assert.Equal(("b", 0), l.FinalPromotion());
        l.Record("b", 1, 0.72);
        Assert.Equal(("b", 1), l.FinalPromotion()); // one result on the half: the counts would not let it climb yet
        l.Started("b", 2);
        Assert.Null(l.FinalPromotion());            // it is running on all rows
        l.Record("b", 2, 0.75);
        Assert.Null(l.FinalPromotion());            // done
    }

    [Fact]
    public void Ladder_rungs_must_rise_to_all_rows()
    {
        Assert.Throws<ArgumentException>(() => new FidelityLadder([0.5, 0.25, 1]));
        Assert.Throws<ArgumentException>(() => new FidelityLadder([0.25, 0.5]));
        Assert.Equal(1, FidelityLadder.Default().RungOf(0.5));
        Assert.Throws<ArgumentException>(() => FidelityLadder.Default().RungOf(0.3));
    }

    [Fact]
    public void The_portfolio_is_tried_first_then_the_inner_tuner_continues_from_its_best()
    {
        var space = new SearchSpace().AddFloat("x", 0, 1, defaultValue: 0.5, lowCost: 0.1);
        var inner = new CfoTuner(space, seed: 3);
        var portfolio = new PortfolioTuner(inner, [new ParameterSet([new("x", 0.9)]), new ParameterSet([new("x", 0.6)])]);
        var first = portfolio.Propose()!;
        var second = portfolio.Propose()!;
        Assert.Equal(0.9, first.GetDouble("x"), 9);
        Assert.Equal(0.6, second.GetDouble("x"), 9);
        portfolio.Report(TrialResult.Completed(first, 0.95, 1));
        portfolio.Report(TrialResult.Completed(second, 0.60, 1));
        Assert.Equal(0.95, portfolio.Best!.Metric);
        var next = portfolio.Propose()!;
        Assert.NotEqual(first.Key, next.Key);
        Assert.NotEqual(second.Key, next.Key);
    }
}

public class DataShareTests
{
    [Fact]
    public void Shares_are_stratified_and_nested()
    {
        var rows = Enumerable.Range(0, 100).Select(i => (Id: i, Label: i % 4 == 0 ? "rare" : "common")).ToList();
        var quarter = DataShare.Take(rows, r => r.Label, 0.25, seed: 3);
        var half = DataShare.Take(rows, r => r.Label, 0.5, seed: 3);
        Assert.Equal(25, quarter.Count);
        Assert.Equal(50, half.Count);
        Assert.Equal(6, quarter.Count(r => r.Label == "rare"));   // round(25 × 0.25)
        Assert.Equal(12, half.Count(r => r.Label == "rare"));     // 12.5 rounds to even
        Assert.True(quarter.All(half.Contains));
        Assert.Equal(rows, DataShare.Take(rows, r => r.Label, 1.0, seed: 3));
    }
}
