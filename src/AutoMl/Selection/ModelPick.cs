namespace MlNetLlm.AutoMl.Selection;

/// <summary>
/// Which model the experiment keeps, and why. Each contender's validation metric is first corrected for having been
/// chosen as the best of its candidate's trials on these same rows (<see cref="SelectionOptimism"/>); the leader is the
/// best corrected metric. A cheaper model to score (classical before small neural before a pretrained encoder) is kept
/// instead when the leader is not clearly ahead of it: when the paired bootstrap interval of the corrected difference on
/// the same validation rows holds zero.
/// </summary>
/// <param name="Comparison">The leader against the chosen model (when another was chosen) or against the best of the
/// cheaper ones (when the leader was kept); null when nothing cheaper had a result.</param>
public sealed record ModelPick(long LeaderTrial, string LeaderCandidate, double LeaderMetric, long ChosenTrial, string ChosenCandidate, double ChosenMetric,
    string? ComparedWith, PairedComparison? Comparison, string Reason)
{
    /// <summary>One contender: a candidate's best trial, how costly it is to score (0: classical), its per-row scores, and
    /// how much its metric is expected to overstate it as the best of several trials (<see cref="SelectionOptimism"/>).</summary>
    public sealed record Contender(long Trial, string Candidate, double Metric, int ScoringCost, IReadOnlyList<double> Scores, double Optimism = 0)
    {
        public double Corrected => Metric - Optimism;
    }

    public static ModelPick Choose(IReadOnlyList<Contender> contenders, int seed = 1)
    {
        if (contenders.Count == 0) throw new ArgumentException("No trial has a result to pick from.", nameof(contenders));
        var leader = contenders.OrderByDescending(c => c.Corrected).ThenBy(c => c.ScoringCost).ThenBy(c => c.Trial).First();
        var cheaper = contenders.Where(c => c.ScoringCost < leader.ScoringCost && c.Scores.Count == leader.Scores.Count)
            .OrderBy(c => c.ScoringCost).ThenByDescending(c => c.Corrected).ToList();
        foreach (var c in cheaper)
        {
            var cmp = Compare(leader, c, seed);
            if (!cmp.ClearlyAhead)
                return new ModelPick(leader.Trial, leader.Candidate, leader.Metric, c.Trial, c.Candidate, c.Metric, c.Candidate, cmp,
                    $"{leader.Candidate} led by {cmp.Difference:F4}{Corrections(leader, c)} but is not clearly ahead of {c.Candidate}, which is cheaper to score " +
                    $"(the 95% interval of the difference over the {cmp.Rows} validation rows, {cmp.Low:+0.0000;-0.0000} to {cmp.High:+0.0000;-0.0000}, holds zero): {c.Candidate} is kept.");
        }
        var best = cheaper.OrderByDescending(c => c.Corrected).FirstOrDefault();
        var against = best is null ? null : Compare(leader, best, seed);
        string reason = best is null
            ? $"{leader.Candidate} has the best validation metric and nothing cheaper to score had a result."
            : $"{leader.Candidate} is clearly ahead of every cheaper model: of the best of them, {best.Candidate}, by {against!.Difference:F4}{Corrections(leader, best)} " +
              $"(95% interval {against.Low:+0.0000;-0.0000} to {against.High:+0.0000;-0.0000} over {against.Rows} validation rows).";
        return new ModelPick(leader.Trial, leader.Candidate, leader.Metric, leader.Trial, leader.Candidate, leader.Metric, best?.Candidate, against, reason);
    }

    /// <summary>The paired comparison of the two contenders' per-row scores, shifted by the difference of their corrections.</summary>
    private static PairedComparison Compare(Contender leader, Contender other, int seed)
    {
        var raw = PairedComparison.Compare(leader.Scores, other.Scores, seed);
        double shift = other.Optimism - leader.Optimism;
        return raw with { Difference = raw.Difference + shift, Low = raw.Low + shift, High = raw.High + shift };
    }

    private static string Corrections(params Contender[] contenders)
    {
        var corrected = contenders.Where(c => c.Optimism >= 0.00005).Select(c => $"{c.Candidate} {c.Metric:F4} - {c.Optimism:F4}").ToList();
        return corrected.Count == 0 ? "" : $" (after correcting for the best-of-several-trials luck: {string.Join(", ", corrected)})";
    }
}
