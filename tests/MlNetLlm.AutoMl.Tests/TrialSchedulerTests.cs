using MlNetLlm.AutoMl.Experiments;

namespace MlNetLlm.AutoMl.Tests;

/// <summary>The scheduler's decisions with made-up trial costs: which trial comes next, at what share of the rows, and
/// what is not started because it would not reach its first result in the time left. No training runs.</summary>
public class TrialSchedulerTests
{
    private const int FitRows = 3200, ValidationRows = 800;

    private static ExperimentOptions Options() => new() { Data = new() { Dataset = "unused.csv", LabelColumn = "label", TextColumns = ["text"], Seed = 1 } };

    private static IReadOnlyList<Candidate> Candidates() => [ClassicalCandidate.Sdca(), NeuralCandidate.FineTune("minilm")];

    private static long _id;

    /// <summary>A finished trial as the store would give it back: one epoch per second given, or a classical fit.</summary>
    private static TrialRecord Finished(PlannedTrial plan, TrialStatus status, double? metric, params double[] epochSeconds) => new()
    {
        Id = ++_id, Experiment = "e", Parameters = plan.Parameters, Status = status, Metric = metric,
        Epochs = epochSeconds.Select((s, i) => new EpochMetric(i + 1, metric ?? double.NaN, 0.5, s)).ToList(),
        DurationSeconds = epochSeconds.Length > 0 ? epochSeconds.Sum() : 2,
    };

    [Fact]
    public void Fine_tuning_starts_with_the_portfolios_first_configuration_on_all_rows()
    {
        var s = new TrialScheduler(Options(), Candidates(), FitRows, ValidationRows, []);
        var first = s.Next([], 360)!;
        Assert.Equal("tfidf+sdca", first.Candidate.Name); // the first round keeps the candidates' order
        var known = new List<TrialRecord> { Finished(first, TrialStatus.Completed, 0.80) };
        s.Absorb(known);
        var ft = s.Next(known, 350)!;
        Assert.Equal("fine-tune", ft.Candidate.Name);
        Assert.Equal(1.0, TrialScheduler.FractionOf(ft.Parameters));
        var p1 = SearchSpaces.FineTunePortfolio()[0];
        Assert.Equal(p1.GetDouble(ParameterNames.LearningRate), ft.Parameters.GetDouble(ParameterNames.LearningRate));
        Assert.Equal(p1.GetInt(ParameterNames.Epochs), ft.Parameters.GetInt(ParameterNames.Epochs));
        Assert.Null(ft.FirstResultSeconds); // nothing measured yet: the trial's own first batches will tell
    }

    [Fact]
    public void A_trial_whose_first_epoch_would_not_end_in_the_time_left_is_not_started()
    {
        var s = new TrialScheduler(Options(), [NeuralCandidate.FineTune("minilm")], FitRows, ValidationRows, []);
        var first = s.Next([], 1000)!;
        // Its epoch on all 3,200 rows (+ validation) took 200 s: the next full-data epoch costs about that again.
        var known = new List<TrialRecord> { Finished(first, TrialStatus.Completed, 0.82, 200) };
        s.Absorb(known);
        var next = s.Next(known, 1000)!;
        Assert.Equal(0.25, TrialScheduler.FractionOf(next.Parameters)); // a new configuration starts on a quarter of the rows
        Assert.InRange(next.FirstResultSeconds!.Value, 45, 65);            // ≈ (800 + 0.35·800) / (3200 + 0.35·800) × 200 s
        Assert.Null(s.Next(known, 30)); // 30 s left: not even a quarter's epoch fits, so nothing starts
    }

    [Fact]
    public void Fine_tuning_stopped_before_a_result_goes_again_first_on_as_many_rows_as_fit()
    {
        var s = new TrialScheduler(Options(), Candidates(), FitRows, ValidationRows, []);
        var a = s.Next([], 360)!;
        var known = new List<TrialRecord> { Finished(a, TrialStatus.Completed, 0.80) };
        s.Absorb(known);
        var ft = s.Next(known, 350)!;
        // The budget stopped it in its first epoch; its first batches said a full epoch takes 400 s.
        s.Costs.RecordEpoch("fine-tune", FitRows + (int)(0.35 * ValidationRows), 128, 400);
        known.Add(Finished(ft, TrialStatus.Stopped, null));
        s.Absorb(known);
        var retry = s.Next(known, 300)!;
        Assert.Equal("fine-tune", retry.Candidate.Name); // before the other candidates
        Assert.Equal(0.5, TrialScheduler.FractionOf(retry.Parameters)); // half the rows: ≈ 210 s ≤ 300 s; all rows: 400 s > 300 s
        Assert.Equal(ft.Parameters.GetDouble(ParameterNames.LearningRate), retry.Parameters.GetDouble(ParameterNames.LearningRate));
    }

    [Fact]
    public void The_better_half_of_a_rung_climbs_when_the_climb_fits()
    {
        var s = new TrialScheduler(Options(), [NeuralCandidate.FineTune("minilm")], FitRows, ValidationRows, []);
        var known = new List<TrialRecord>();
        var top = s.Next(known, 2000)!;
        known.Add(Finished(top, TrialStatus.Completed, 0.84, 100));
        s.Absorb(known);
        var q1 = s.Next(known, 1900)!;
        known.Add(Finished(q1, TrialStatus.Completed, 0.78, 25));
        s.Absorb(known);
        var q2 = s.Next(known, 1800)!;
        Assert.Equal(0.25, TrialScheduler.FractionOf(q2.Parameters));
        known.Add(Finished(q2, TrialStatus.Completed, 0.81, 25));
        s.Absorb(known);
        var climb = s.Next(known, 1700)!;
        Assert.Equal(0.5, TrialScheduler.FractionOf(climb.Parameters));
        Assert.Equal(TrialScheduler.CandidateParameters(q2.Parameters).Key, TrialScheduler.CandidateParameters(climb.Parameters).Key); // the better of the two
        Assert.Contains("climbs", climb.Why);
    }

    [Fact]
    public void Frozen_embeddings_are_costed_from_the_fine_tuning_encoder_and_not_started_without_time_for_them()
    {
        // The main job of 2026-12-07: fine-tuning ran 2 epochs (about 170 s each on 3,200 rows) and left 4 s; the first
        // embeddings trial, whose cost nothing had measured, was started anyway and took 42 s.
        var embeddings = EmbeddingCandidate.Sdca(new SharedEmbeddings("minilm"));
        IReadOnlyList<Candidate> candidates = [NeuralCandidate.FineTune("minilm"), embeddings, ClassicalCandidate.Sdca()];
        var s = new TrialScheduler(Options(), candidates, FitRows, ValidationRows, []);
        var ft = s.Next([], 360)!;
        Assert.Equal("fine-tune", ft.Candidate.Name);
        var known = new List<TrialRecord> { Finished(ft, TrialStatus.Completed, 0.836, 170, 170) };
        s.Absorb(known);
        Assert.Null(s.Next(known, 4)); // neither the embeddings (about a forward pass over 4,000 rows) nor an unmeasured fit
        var again = new TrialScheduler(Options(), candidates, FitRows, ValidationRows, known);
        again.Absorb(known);
        var plan = again.Next(known, 200)!;
        Assert.Equal(embeddings.Name, plan.Candidate.Name);
        Assert.InRange(plan.FirstResultSeconds!.Value, 30, 120); // forward only: ~0.35 of a training pass over fit + validation rows
    }
}
