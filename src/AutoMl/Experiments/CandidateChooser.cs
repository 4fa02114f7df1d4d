namespace MlNetLlm.AutoMl.Experiments;

/// <summary>
/// Picks which candidate pipeline gets the next trial, by estimated cost for improvement (ECI) as FLAML does for its
/// learners: a candidate that improves cheaply is picked often, one that has stalled or lags far behind the leader
/// at a slow rate of improvement rarely, and none is ever starved (picks are random with probability ∝ 1 / ECI).
/// For a candidate with compute T spent in all, T* spent when it last improved and T' when it improved before that:
///   ECI_self  = max(T − T*, T* − T', its mean trial cost)        (what its next improvement should cost)
///   ECI_reach = gap to the best metric of any candidate ÷ its rate of improvement so far (2T when it has not improved)
///   ECI       = max(ECI_self, ECI_reach)                         (ECI_reach only for candidates behind the leader)
/// A candidate with no successful trial gets ECI = 2T, so it is retried now and then without draining the budget.
/// Candidates not tried yet are picked first (in their order).
/// </summary>
public sealed class CandidateChooser(int seed)
{
    private readonly Random _random = new(seed);
    private readonly Dictionary<string, List<(double Seconds, double Metric)>> _history = new(StringComparer.Ordinal);

    /// <summary>Records a finished trial of <paramref name="candidate"/>: its cost and its metric (NaN: failed or pruned).</summary>
    public void Record(string candidate, double seconds, double metric)
    {
        if (!_history.TryGetValue(candidate, out var list)) _history[candidate] = list = [];
        list.Add((Math.Max(seconds, 1e-3), metric));
    }

    /// <summary>Estimated seconds for <paramref name="candidate"/> to improve (see the class comment); 0 when untried.</summary>
    public double EstimatedCostForImprovement(string candidate)
    {
        if (!_history.TryGetValue(candidate, out var trials) || trials.Count == 0) return 0;
        double total = trials.Sum(t => t.Seconds);
        double spent = 0, best = double.NegativeInfinity, first = double.NaN, atBest = 0, atPreviousBest = 0;
        foreach (var (seconds, metric) in trials)
        {
            spent += seconds;
            if (!double.IsFinite(metric)) continue;
            if (double.IsNaN(first)) first = metric;
            if (metric > best)
            {
                best = metric;
                atPreviousBest = atBest;
                atBest = spent;
            }
        }
        if (double.IsNegativeInfinity(best)) return 2 * total;
        double self = Math.Max(Math.Max(total - atBest, atBest - atPreviousBest), total / trials.Count);
        double leader = LeaderMetric();
        if (best >= leader) return self;
        double rate = (best - first) / atBest;
        double reach = rate > 0 ? (leader - best) / rate : 2 * total;
        return Math.Max(self, reach);
    }

    private double LeaderMetric() => _history.Values.SelectMany(t => t).Select(t => t.Metric).Where(double.IsFinite).DefaultIfEmpty(double.NegativeInfinity).Max();

    /// <summary>The candidate for the next trial among <paramref name="open"/> (null when it is empty).</summary>
    public string? Choose(IReadOnlyList<string> open)
    {
        if (open.Count == 0) return null;
        if (open.FirstOrDefault(c => EstimatedCostForImprovement(c) == 0) is { } untried) return untried;
        var weights = open.Select(c => 1 / EstimatedCostForImprovement(c)).ToArray();
        double u = _random.NextDouble() * weights.Sum();
        for (int i = 0; i < open.Count; i++)
        {
            u -= weights[i];
            if (u < 0) return open[i];
        }
        return open[^1];
    }
}
