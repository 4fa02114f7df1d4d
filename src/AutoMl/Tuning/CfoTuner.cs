namespace MlNetLlm.AutoMl;

/// <summary>Settings of <see cref="CfoTuner"/>; distances are in the unit hypercube.</summary>
public sealed record CfoOptions
{
    /// <summary>First step length; null: 0.1·√d as in FLAML's FLOW2.</summary>
    public double? InitialStep { get; init; }

    /// <summary>Largest step; null: √d (the diagonal of the cube).</summary>
    public double? MaxStep { get; init; }

    /// <summary>When the step falls below this, search restarts from a random point.</summary>
    public double MinStep { get; init; } = 0.01;

    /// <summary>The step is multiplied by this after a successful move (1 = never grow).</summary>
    public double GrowthFactor { get; init; } = 1.2;

    /// <summary>The step is multiplied by this after <see cref="FailuresBeforeShrink"/> failed directions.</summary>
    public double ShrinkFactor { get; init; } = 0.5;

    /// <summary>Consecutive failed directions (each tried both ways) before the step shrinks; null: the dimension d
    /// (at least 2).</summary>
    public int? FailuresBeforeShrink { get; init; }

    /// <summary>A probe must beat the incumbent's metric by more than this to count as better; within it, the
    /// clearly cheaper trial wins (see <see cref="CostTieMargin"/>).</summary>
    public double Tolerance { get; init; }

    /// <summary>On a metric tie, a probe wins only when it is cheaper by more than this fraction of the incumbent's
    /// cost. Without a margin, timing noise between equally good points (e.g. a plateau where every trial predicts the
    /// majority class) reads as progress: the step keeps growing at random and the search never restarts.</summary>
    public double CostTieMargin { get; init; } = 0.1;
}

/// <summary>
/// Cost-frugal optimization (CFO, after FLAML's CFO / FLOW2 randomized direct search). Starts at the space's low-cost
/// point, so cheap configurations are tried first and expensive ones only when the search climbs towards them. From
/// the incumbent x it samples a random unit direction u and tries x + step·u, then (if not better) x − step·u.
/// A better point becomes the incumbent and the step grows; after a run of failed directions the step shrinks; when
/// it falls below the minimum the search restarts from a random point. Failed trials rank below everything; metric
/// ties go to the clearly cheaper trial. Points that discretize to a configuration already seen are not proposed again.
/// </summary>
public sealed class CfoTuner : TunerBase
{
    private sealed record Probe(double[] Point, double[] Direction, double Step, int Sign, int Version);

    private readonly CfoOptions options;
    private readonly double initialStep, maxStep;
    private readonly int failuresBeforeShrink;
    private readonly Dictionary<string, Probe> outstanding = new(StringComparer.Ordinal);
    private readonly Queue<Probe> opposites = new();
    private double[] x;
    private string? startKey;
    private bool startProposed;
    private TrialResult? incumbent;
    private int version, failures;

    public CfoTuner(SearchSpace space, int seed = 0, CfoOptions? options = null) : base(space, seed)
    {
        this.options = options ?? new CfoOptions();
        int d = space.Dimension;
        initialStep = this.options.InitialStep ?? 0.1 * Math.Sqrt(d);
        maxStep = this.options.MaxStep ?? Math.Sqrt(d);
        failuresBeforeShrink = this.options.FailuresBeforeShrink ?? Math.Max(2, d);
        if (!(initialStep > 0) || !(maxStep >= initialStep) || !(this.options.MinStep > 0) || this.options.MinStep > initialStep)
            throw new ArgumentException($"CFO steps must satisfy 0 < MinStep ({this.options.MinStep}) <= InitialStep ({initialStep}) <= MaxStep ({maxStep}).");
        if (!(this.options.GrowthFactor >= 1)) throw new ArgumentException($"CFO GrowthFactor must be >= 1 (got {this.options.GrowthFactor}).");
        if (!(this.options.ShrinkFactor is > 0 and < 1)) throw new ArgumentException($"CFO ShrinkFactor must be in (0, 1) (got {this.options.ShrinkFactor}).");
        if (failuresBeforeShrink < 1) throw new ArgumentException($"CFO FailuresBeforeShrink must be >= 1 (got {failuresBeforeShrink}).");
        if (this.options.Tolerance < 0) throw new ArgumentException($"CFO Tolerance must be >= 0 (got {this.options.Tolerance}).");
        if (this.options.CostTieMargin is < 0 or >= 1) throw new ArgumentException($"CFO CostTieMargin must be in [0, 1) (got {this.options.CostTieMargin}).");
        x = space.ToUnit(space.LowCost());
        Step = initialStep;
    }

    /// <summary>Current step length in the unit hypercube.</summary>
    public double Step { get; private set; }

    /// <summary>How many times the search restarted from a random point.</summary>
    public int Restarts { get; private set; }

    /// <summary>The point the local search is currently at (null until its first result arrives).</summary>
    public TrialResult? Incumbent => incumbent;

    public override ParameterSet? Propose()
    {
        for (int attempt = 0; attempt < 500; attempt++)
        {
            if (incumbent is null && !startProposed)
            {
                startProposed = true;
                var start = Restarts == 0 ? Space.LowCost() : Space.FromUnit(x);
                startKey = start.Key;
                if (!Seen.ContainsKey(start.Key) && !outstanding.ContainsKey(start.Key))
                {
                    outstanding[start.Key] = new Probe((double[])x.Clone(), new double[x.Length], 0, 0, version);
                    return start;
                }
                if (Seen.TryGetValue(start.Key, out _))
                {
                    // Restarted onto a point already evaluated: it is the incumbent.
                    var known = History.Last(h => h.Parameters.Key == start.Key);
                    incumbent = known;
                    continue;
                }
                continue; // the start point is outstanding elsewhere; probe around it meanwhile
            }

            Probe probe;
            if (opposites.Count > 0)
            {
                var plus = opposites.Dequeue();
                if (plus.Version != version) continue;
                probe = plus with { Point = Move(x, plus.Direction, -plus.Step), Sign = -1 };
            }
            else
            {
                var u = RandomDirection();
                probe = new Probe(Move(x, u, Step), u, Step, +1, version);
            }

            var candidate = Space.FromUnit(probe.Point);
            string key = candidate.Key;
            if (outstanding.ContainsKey(key) || key == startKey && incumbent is null)
            {
                Outcome(probe, better: false, result: null); // already being tried: no information, move on
                continue;
            }
            if (Seen.TryGetValue(key, out double score))
            {
                // Discretizes to a point already evaluated: judge it from what is known, without a new trial.
                var known = History.Last(h => h.Parameters.Key == key);
                Outcome(probe, incumbent is null || Beats(known, incumbent), known);
                continue;
            }
            outstanding[key] = probe;
            return candidate;
        }
        return Fallback();
    }

    protected override void OnReport(TrialResult result)
    {
        string key = result.Parameters.Key;
        if (outstanding.Remove(key, out var probe))
        {
            if (probe.Sign == 0)
            {
                // The start point of a (re)start.
                if (probe.Version == version && (incumbent is null || Beats(result, incumbent)))
                {
                    incumbent = result;
                    x = probe.Point;
                }
                return;
            }
            Outcome(probe, incumbent is null || Beats(result, incumbent), result);
            return;
        }
        // A result the tuner did not propose (another worker, a replayed trial, a warm start): adopt it when better.
        if (incumbent is null ? key == startKey : Beats(result, incumbent))
            MoveTo(Space.ToUnit(result.Parameters), result, grow: false);
    }

    private void Outcome(Probe probe, bool better, TrialResult? result)
    {
        if (probe.Version != version)
        {
            // The incumbent moved since this probe was proposed; only a new best matters.
            if (better && result is not null && (incumbent is null || Beats(result, incumbent)))
                MoveTo(probe.Point, result, grow: false);
            return;
        }
        if (better && result is not null)
        {
            MoveTo(probe.Point, result, grow: true);
            return;
        }
        if (probe.Sign > 0)
        {
            opposites.Enqueue(probe);
            return;
        }
        if (++failures >= failuresBeforeShrink)
        {
            failures = 0;
            Step *= options.ShrinkFactor;
            version++; // pending opposites were for the old step
            opposites.Clear();
            if (Step < options.MinStep) Restart();
        }
    }

    private void MoveTo(double[] point, TrialResult result, bool grow)
    {
        x = point;
        incumbent = result;
        version++;
        failures = 0;
        opposites.Clear();
        if (grow) Step = Math.Min(maxStep, Step * options.GrowthFactor);
    }

    /// <summary>Whether <paramref name="a"/> should replace the incumbent <paramref name="b"/> (see <see cref="CfoOptions"/>).</summary>
    private bool Beats(TrialResult a, TrialResult b) => IsBetter(a, b, options.Tolerance, options.CostTieMargin);

    private void Restart()
    {
        Restarts++;
        var fresh = new double[x.Length];
        for (int i = 0; i < fresh.Length; i++) fresh[i] = Random.NextDouble();
        x = fresh;
        incumbent = null;
        startProposed = false;
        startKey = null;
        Step = initialStep;
        failures = 0;
        version++;
        opposites.Clear();
    }

    private double[] RandomDirection()
    {
        var u = new double[x.Length];
        double norm;
        do
        {
            norm = 0;
            for (int i = 0; i < u.Length; i++)
            {
                u[i] = Gaussian(Random);
                norm += u[i] * u[i];
            }
        } while (norm < 1e-12);
        norm = Math.Sqrt(norm);
        for (int i = 0; i < u.Length; i++) u[i] /= norm;
        return u;
    }

    private static double[] Move(double[] from, double[] direction, double step)
    {
        var y = new double[from.Length];
        for (int i = 0; i < y.Length; i++) y[i] = Math.Clamp(from[i] + step * direction[i], 0, 1);
        return y;
    }

    internal static double Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>When local search keeps hitting known points: a random unseen point, or null once a finite space is exhausted.</summary>
    private ParameterSet? Fallback()
    {
        if (Space.Cardinality is long n && Seen.Count + outstanding.Count >= n) return null;
        for (int i = 0; i < 10_000; i++)
        {
            var p = Space.Sample(Random);
            if (Seen.ContainsKey(p.Key) || outstanding.ContainsKey(p.Key)) continue;
            var unit = Space.ToUnit(p);
            outstanding[p.Key] = new Probe(unit, new double[unit.Length], 0, +1, -1); // judged like a foreign result
            return p;
        }
        return null;
    }
}
