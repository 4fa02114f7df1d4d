namespace MlNetLlm.AutoMl;

/// <summary>
/// Decides, from a trial's validation metric after each epoch (higher is better), whether to stop the trial early.
/// Implementations are thread-safe: several trials of one experiment may report at once.
/// </summary>
public interface IPruner
{
    /// <summary>Records that <paramref name="trialId"/> reached <paramref name="metric"/> after epoch
    /// <paramref name="epoch"/> (1-based) and returns true when the trial should stop now.</summary>
    bool ShouldPrune(long trialId, int epoch, double metric);

    /// <summary>Records a metric without asking for a decision (e.g. replaying stored trials on resume).</summary>
    void Record(long trialId, int epoch, double metric);
}

/// <summary>Never prunes.</summary>
public sealed class NoPruner : IPruner
{
    public static NoPruner Instance { get; } = new();

    public bool ShouldPrune(long trialId, int epoch, double metric) => false;

    public void Record(long trialId, int epoch, double metric) { }
}

/// <summary>
/// Asynchronous successive halving (ASHA, Li et al. 2020) over epochs. Rungs sit at epochs
/// r_k = MinEpochs·η^k (1, 3, 9, 27… with the defaults). The first time a trial reports at or past a rung, its metric
/// is entered into that rung and the trial continues only if it is among the top ⌊n/η⌋ (at least 1) of the n trials
/// that have reached the rung so far — so the first trial at a rung always continues, the best trial at a rung is
/// never stopped there, and a NaN metric is always stopped. Trials reporting at or past <see cref="MaxEpochs"/> are
/// finishing and are not stopped.
/// </summary>
public sealed class AshaPruner : IPruner
{
    private readonly object gate = new();
    private readonly List<Dictionary<long, double>> rungs = []; // rung k: trial → metric when it reached the rung
    private readonly Dictionary<long, int> nextRung = [];        // trial → first rung it has not reached yet

    public AshaPruner(int reductionFactor = 3, int minEpochs = 1, int? maxEpochs = null, int minTrialsAtRung = 1)
    {
        if (reductionFactor < 2) throw new ArgumentException($"ASHA reduction factor η must be >= 2 (got {reductionFactor}).", nameof(reductionFactor));
        if (minEpochs < 1) throw new ArgumentException($"ASHA min epochs must be >= 1 (got {minEpochs}).", nameof(minEpochs));
        if (maxEpochs is < 1) throw new ArgumentException($"ASHA max epochs must be >= 1 (got {maxEpochs}).", nameof(maxEpochs));
        if (minTrialsAtRung < 1) throw new ArgumentException($"ASHA min trials at a rung must be >= 1 (got {minTrialsAtRung}).", nameof(minTrialsAtRung));
        ReductionFactor = reductionFactor;
        MinEpochs = minEpochs;
        MaxEpochs = maxEpochs;
        MinTrialsAtRung = minTrialsAtRung;
    }

    /// <summary>η: the fraction 1/η of the trials at a rung continue.</summary>
    public int ReductionFactor { get; }

    /// <summary>Epoch of the first rung.</summary>
    public int MinEpochs { get; }

    /// <summary>Epochs of a full trial, when known; no trial is stopped at or after it.</summary>
    public int? MaxEpochs { get; }

    /// <summary>No trial is stopped at a rung until this many trials (itself included) have reached it.</summary>
    public int MinTrialsAtRung { get; }

    /// <summary>Epoch of rung <paramref name="k"/> (0-based).</summary>
    public long RungEpoch(int k) => (long)(MinEpochs * Math.Pow(ReductionFactor, k));

    public bool ShouldPrune(long trialId, int epoch, double metric) => Enter(trialId, epoch, metric, decide: true);

    public void Record(long trialId, int epoch, double metric) => Enter(trialId, epoch, metric, decide: false);

    /// <summary>Number of trials that have reached rung <paramref name="k"/>.</summary>
    public int TrialsAtRung(int k)
    {
        lock (gate) return k < rungs.Count ? rungs[k].Count : 0;
    }

    private bool Enter(long trialId, int epoch, double metric, bool decide)
    {
        if (epoch < 1) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "Epochs are numbered from 1.");
        lock (gate)
        {
            int k = nextRung.GetValueOrDefault(trialId);
            bool prune = false;
            // A trial that skipped epochs (or reports coarsely) enters every rung it has passed, judged at the highest.
            while (RungEpoch(k) <= epoch)
            {
                while (rungs.Count <= k) rungs.Add([]);
                rungs[k][trialId] = double.IsNaN(metric) ? double.NegativeInfinity : metric;
                prune = decide && !(MaxEpochs is int max && epoch >= max) && !Promotable(rungs[k], trialId);
                k++;
                nextRung[trialId] = k;
            }
            return prune;
        }
    }

    private bool Promotable(Dictionary<long, double> rung, long trialId)
    {
        double mine = rung[trialId];
        if (double.IsNegativeInfinity(mine)) return false;
        int n = rung.Count;
        if (n < MinTrialsAtRung) return true;
        int keep = Math.Max(1, n / ReductionFactor);
        int better = rung.Values.Count(v => v > mine); // ties keep the trial
        return better < keep;
    }
}
