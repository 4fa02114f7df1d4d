namespace MlNetLlm.AutoMl;

/// <summary>Life cycle of a trial. Pending → Running → Completed | Pruned | Failed; a Running trial of a dead worker
/// goes back to Pending on resume.</summary>
public enum TrialStatus
{
    Pending,
    Running,
    Completed,
    Pruned,
    Failed,
    /// <summary>Ended by the time budget before it had a validated result (one with a result completes with it).</summary>
    Stopped,
}

/// <summary>
/// What a tuner learns from one trial: its parameters, its metric (higher is better; NaN when there is none), its
/// cost in seconds and how it ended. Only a <see cref="TrialStatus.Completed"/> trial with a finite metric counts as a
/// success; failed trials rank below everything, pruned ones below every completed one.
/// </summary>
public sealed record TrialResult(ParameterSet Parameters, double Metric, double CostSeconds, TrialStatus Status = TrialStatus.Completed)
{
    /// <summary>Epochs the trial ran (for pruned trials: the epochs reached), when known.</summary>
    public int? Epochs { get; init; }

    public bool IsSuccess => Status == TrialStatus.Completed && double.IsFinite(Metric);

    public static TrialResult Completed(ParameterSet parameters, double metric, double costSeconds) => new(parameters, metric, costSeconds);

    public static TrialResult Failed(ParameterSet parameters, double costSeconds) => new(parameters, double.NaN, costSeconds, TrialStatus.Failed);

    public static TrialResult Pruned(ParameterSet parameters, double lastMetric, double costSeconds, int epochs) =>
        new(parameters, lastMetric, costSeconds, TrialStatus.Pruned) { Epochs = epochs };

    /// <summary>A total order for "better": completed finite metrics by value, then pruned, then failed/NaN.</summary>
    internal double Score => IsSuccess ? Metric : double.NegativeInfinity;
}

/// <summary>
/// A hyperparameter tuner: proposes the next trial's parameters and learns from reported results (metric and cost).
/// Tuners are deterministic given their seed and the sequence of calls, so an experiment can be resumed by creating
/// the tuner with the same seed and replaying the stored trials (<see cref="Propose"/> then <see cref="Report"/> for
/// each, in order). Results may be reported in any order and for parameters the tuner did not propose (e.g. from
/// another worker); several proposals may be outstanding at once. Implementations are not thread-safe.
/// </summary>
public interface ITuner
{
    SearchSpace Space { get; }

    /// <summary>The next parameters to try, or null when the tuner has nothing left (e.g. a finished grid).</summary>
    ParameterSet? Propose();

    /// <summary>Tells the tuner how a trial went.</summary>
    void Report(TrialResult result);

    /// <summary>The best successful result reported so far (ties: the cheaper one), or null.</summary>
    TrialResult? Best { get; }
}

/// <summary>Shared bookkeeping: the best result and the set of points already reported.</summary>
public abstract class TunerBase : ITuner
{
    protected TunerBase(SearchSpace space, int seed)
    {
        ArgumentNullException.ThrowIfNull(space);
        if (space.Dimension == 0) throw new ArgumentException("The search space has no parameters.", nameof(space));
        Space = space;
        Seed = seed;
        Random = new Random(seed);
    }

    public SearchSpace Space { get; }
    public int Seed { get; }
    protected Random Random { get; }

    /// <summary>Every result reported, in order.</summary>
    public IReadOnlyList<TrialResult> History => history;
    private readonly List<TrialResult> history = [];

    /// <summary>Points reported, by <see cref="ParameterSet.Key"/>, with their best score.</summary>
    protected Dictionary<string, double> Seen { get; } = new(StringComparer.Ordinal);

    public TrialResult? Best { get; private set; }

    public abstract ParameterSet? Propose();

    public void Report(TrialResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var parameters = Space.Validate(result.Parameters);
        result = result with { Parameters = parameters };
        history.Add(result);
        Seen[parameters.Key] = Seen.TryGetValue(parameters.Key, out var s) ? Math.Max(s, result.Score) : result.Score;
        if (result.IsSuccess && (Best is null || IsBetter(result, Best, 0))) Best = result;
        OnReport(result);
    }

    protected abstract void OnReport(TrialResult result);

    /// <summary>True when <paramref name="a"/> beats <paramref name="b"/>: a higher score by more than
    /// <paramref name="tolerance"/>, or a score within it at a cost lower by more than <paramref name="costMargin"/>
    /// (a fraction of <paramref name="b"/>'s cost; 0: any lower cost).</summary>
    internal static bool IsBetter(TrialResult a, TrialResult b, double tolerance, double costMargin = 0)
    {
        double sa = a.Score, sb = b.Score;
        if (double.IsNegativeInfinity(sa)) return false;
        if (double.IsNegativeInfinity(sb)) return true;
        if (sa > sb + tolerance) return true;
        if (sa < sb - tolerance) return false;
        return a.CostSeconds < b.CostSeconds * (1 - costMargin);
    }
}
