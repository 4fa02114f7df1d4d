namespace MlNetLlm.AutoMl.Scheduling;

/// <summary>
/// What a trial will cost before it starts, from what earlier trials measured. A neural trial's epoch costs
/// (seconds per training row) × rows, and that rate grows with the sequence length and is learned per candidate
/// from measured epochs (or a short probe of a few batches); the validation pass after each epoch costs a share of an
/// epoch over the validation rows. A classical trial costs what its candidate's trials cost so far. Unknown: null.
/// </summary>
public sealed class TrialCostModel
{
    private readonly object _gate = new();
    // candidate → (seconds per row per token of max length), averaged over what was measured
    private readonly Dictionary<string, (double Sum, int Count)> _perRowToken = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (double Sum, int Count)> _trialSeconds = new(StringComparer.Ordinal);

    /// <summary>Forward-only validation costs about this share of a training step per row (no backward pass, no optimizer).</summary>
    public const double ValidationShare = 0.35;

    /// <summary>Records a measured training epoch (or probe) of a neural candidate: <paramref name="seconds"/> for
    /// <paramref name="rows"/> rows at <paramref name="maxLength"/> tokens.</summary>
    public void RecordEpoch(string candidate, int rows, int maxLength, double seconds)
    {
        if (rows <= 0 || maxLength <= 0 || !(seconds > 0)) return;
        lock (_gate)
        {
            var (sum, count) = _perRowToken.GetValueOrDefault(candidate);
            _perRowToken[candidate] = (sum + seconds / rows / maxLength, count + 1);
        }
    }

    /// <summary>Records a whole trial's seconds (classical candidates are costed per trial, per unit of
    /// <see cref="Work"/>).</summary>
    public void RecordTrial(string candidate, double seconds, double work = 1)
    {
        if (!(seconds > 0) || !(work > 0)) return;
        lock (_gate)
        {
            var (sum, count) = _trialSeconds.GetValueOrDefault(candidate);
            _trialSeconds[candidate] = (sum + seconds / work, count + 1);
        }
    }

    /// <summary>How much a classical trial computes relative to others of its candidate: trees × leaves for the tree
    /// learners (a 500-tree, 136-leaf LightGBM costs far more than the 100 × 20 one before it), 1 otherwise.</summary>
    public static double Work(ParameterSet p) =>
        p.ContainsKey(ParameterNames.NumberOfIterations) && p.ContainsKey(ParameterNames.NumberOfLeaves)
            ? Math.Max(1, p.GetInt(ParameterNames.NumberOfIterations)) * (double)Math.Max(1, p.GetInt(ParameterNames.NumberOfLeaves))
            : 1;

    public bool KnowsEpochCost(string candidate)
    {
        lock (_gate) return _perRowToken.ContainsKey(candidate);
    }

    /// <summary>Seconds of one training epoch over <paramref name="rows"/> rows plus its validation pass, or null.</summary>
    public double? EpochSeconds(string candidate, int rows, int validationRows, int maxLength)
    {
        lock (_gate)
        {
            if (!_perRowToken.TryGetValue(candidate, out var r)) return null;
            double rate = r.Sum / r.Count * maxLength;
            return rate * rows + ValidationShare * rate * validationRows;
        }
    }

    /// <summary>Seconds to the first validated result of a neural trial (one epoch), or of a whole classical trial of
    /// <paramref name="work"/> (<see cref="Work"/>); null when unknown.</summary>
    public double? FirstResultSeconds(string candidate, int rows, int validationRows, int? maxLength, double work = 1)
    {
        if (maxLength is int length && EpochSeconds(candidate, rows, validationRows, length) is double epoch) return epoch;
        lock (_gate) return _trialSeconds.TryGetValue(candidate, out var t) ? t.Sum / t.Count * work : null;
    }

    /// <summary>Seconds of a whole neural trial of <paramref name="epochs"/> epochs, or null.</summary>
    public double? TrialSeconds(string candidate, int rows, int validationRows, int maxLength, int epochs) =>
        EpochSeconds(candidate, rows, validationRows, maxLength) is double e ? e * epochs : null;
}
