namespace MlNetLlm.AutoMl.Scheduling;

/// <summary>
/// Asynchronous successive halving over the share of training rows a trial gets (Hyperband's rungs on data, as in
/// ASHA, Li et al. 2020): every configuration starts on the smallest share; a configuration among the best
/// ⌊n/η⌋ of the n that finished a rung climbs to the next, larger share, where it is trained again. Many
/// configurations are tried cheaply and only the promising ones get all the rows. When the budget leaves room for just
/// one more run on all rows, the best configuration of the highest rung reached is sent there whatever the counts
/// (<see cref="FinalPromotion"/>), so a short budget still ends with a model trained on every row.
/// </summary>
public sealed class FidelityLadder
{
    private readonly object _gate = new();
    private readonly List<Dictionary<string, double>> _results = [];   // rung → config → metric (NaN: no result)
    private readonly List<HashSet<string>> _started = [];              // rung → configs started there

    public FidelityLadder(IReadOnlyList<double> fractions, int reductionFactor = 2)
    {
        if (fractions.Count == 0 || fractions[^1] != 1.0 || fractions.Zip(fractions.Skip(1)).Any(p => !(p.First < p.Second)) || fractions[0] <= 0)
            throw new ArgumentException($"Fidelity rungs must rise strictly from above 0 to 1 (got {string.Join(", ", fractions)}).", nameof(fractions));
        if (reductionFactor < 2) throw new ArgumentException($"The reduction factor must be at least 2 (got {reductionFactor}).", nameof(reductionFactor));
        Fractions = fractions;
        ReductionFactor = reductionFactor;
        foreach (var _ in fractions) { _results.Add(new(StringComparer.Ordinal)); _started.Add(new(StringComparer.Ordinal)); }
    }

    /// <summary>The ladder of the experiments: a quarter, half, then all of the training rows; the better half climbs.</summary>
    public static FidelityLadder Default() => new([0.25, 0.5, 1.0]);

    public IReadOnlyList<double> Fractions { get; }
    public int ReductionFactor { get; }
    public int TopRung => Fractions.Count - 1;

    /// <summary>The rung of a data share (exactly one of <see cref="Fractions"/>).</summary>
    public int RungOf(double fraction)
    {
        for (int k = 0; k < Fractions.Count; k++)
            if (Math.Abs(Fractions[k] - fraction) < 1e-9) return k;
        throw new ArgumentException($"{fraction} is not a rung of this ladder ({string.Join(", ", Fractions)}).", nameof(fraction));
    }

    public void Started(string config, int rung)
    {
        lock (_gate) _started[rung].Add(config);
    }

    /// <summary>Records how a configuration did on a rung (NaN: failed, pruned or stopped there: it never climbs).</summary>
    public void Record(string config, int rung, double metric)
    {
        lock (_gate)
        {
            _started[rung].Add(config);
            _results[rung][config] = double.IsFinite(metric) ? metric : double.NaN;
        }
    }

    /// <summary>True when some configuration has a result on any rung.</summary>
    public bool HasAnyResult
    {
        get { lock (_gate) return _results.Any(r => r.Values.Any(double.IsFinite)); }
    }

    /// <summary>True when some configuration has a result on all rows.</summary>
    public bool HasTopResult
    {
        get { lock (_gate) return _results[TopRung].Values.Any(double.IsFinite); }
    }

    /// <summary>The number of configurations with a result on <paramref name="rung"/>.</summary>
    public int Finished(int rung)
    {
        lock (_gate) return _results[rung].Count;
    }

    /// <summary>
    /// Configurations that may climb now, highest rung first then best first: among the top ⌊n/η⌋ of the n results
    /// of their rung and not started on the next one.
    /// </summary>
    public IReadOnlyList<(string Config, int ToRung)> Promotions()
    {
        lock (_gate)
        {
            var list = new List<(string, int)>();
            for (int k = TopRung - 1; k >= 0; k--)
            {
                var ranked = _results[k].Where(r => double.IsFinite(r.Value)).OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal).ToList();
                int keep = _results[k].Count / ReductionFactor;
                list.AddRange(ranked.Take(keep).Where(r => !_started[k + 1].Contains(r.Key)).Select(r => (r.Key, k + 1)));
            }
            return list;
        }
    }

    /// <summary>The best configuration of the highest rung below the top that has a result and has not climbed yet,
    /// to be trained on all rows when the budget leaves room for one more run only.</summary>
    public (string Config, int FromRung)? FinalPromotion()
    {
        lock (_gate)
        {
            if (HasTopResultUnlocked() || _started[TopRung].Count > _results[TopRung].Count) return null; // done, or one is running
            for (int k = TopRung - 1; k >= 0; k--)
            {
                var best = _results[k].Where(r => double.IsFinite(r.Value) && !_started[TopRung].Contains(r.Key))
                    .OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal).FirstOrDefault();
                if (best.Key is not null) return (best.Key, k);
            }
            return null;
        }
    }

    private bool HasTopResultUnlocked() => _results[TopRung].Values.Any(double.IsFinite);
}
