namespace MlNetLlm.AutoMl;

/// <summary>
/// Grid search: every combination of a fixed set of values per parameter — <c>stepsPerDimension</c> evenly spaced
/// values for floats and ints (evenly in log space for log parameters; ints deduplicated, so a narrow int range gives
/// fewer), every value of a choice. Walks the Cartesian product in order, or in a seeded shuffled order (so a
/// budget that stops early still covers the space evenly). <see cref="Propose"/> returns null once the grid is
/// exhausted (<see cref="HasMore"/> is false).
/// </summary>
public sealed class GridSearchTuner : TunerBase
{
    /// <summary>Largest grid that can be shuffled (the shuffled order is held in memory).</summary>
    public const int MaxShuffledPoints = 10_000_000;

    private readonly object[][] axes;
    private readonly int[]? order;
    private long next;

    public GridSearchTuner(SearchSpace space, int stepsPerDimension = 5, bool shuffle = true, int seed = 0,
        IReadOnlyDictionary<string, int>? stepsPerParameter = null)
        : base(space, seed)
    {
        if (stepsPerDimension < 1) throw new ArgumentException($"Grid steps per dimension must be >= 1 (got {stepsPerDimension}).", nameof(stepsPerDimension));
        if (stepsPerParameter is not null)
            foreach (var (name, steps) in stepsPerParameter)
            {
                if (!space.Contains(name)) throw new ArgumentException($"Grid steps given for unknown parameter '{name}'; the search space has: {string.Join(", ", space.Parameters.Select(p => p.Name))}.");
                if (steps < 1) throw new ArgumentException($"Grid steps for '{name}' must be >= 1 (got {steps}).");
            }
        axes = space.Parameters.Select(p => Axis(p, stepsPerParameter is not null && stepsPerParameter.TryGetValue(p.Name, out var s) ? s : stepsPerDimension)).ToArray();
        long count = 1;
        foreach (var a in axes)
        {
            try { count = checked(count * a.Length); }
            catch (OverflowException) { throw new ArgumentException("The grid has too many points to enumerate; use fewer steps or another tuner."); }
        }
        Count = count;
        if (shuffle)
        {
            if (count > MaxShuffledPoints) throw new ArgumentException($"The grid has {count} points, more than the {MaxShuffledPoints} that can be shuffled; use fewer steps or shuffle: false.");
            order = new int[count];
            for (int i = 0; i < order.Length; i++) order[i] = i;
            Random.Shuffle(order);
        }
    }

    /// <summary>Number of grid points.</summary>
    public long Count { get; }

    /// <summary>Points not proposed yet.</summary>
    public long Remaining => Count - next;

    public bool HasMore => next < Count;

    /// <summary>The values tried for each parameter, in the space's order.</summary>
    public IReadOnlyList<IReadOnlyList<object>> Axes => axes;

    public override ParameterSet? Propose()
    {
        if (!HasMore) return null;
        long index = order is null ? next : order[next];
        next++;
        var values = new KeyValuePair<string, object>[axes.Length];
        for (int d = axes.Length - 1; d >= 0; d--)
        {
            values[d] = new(Space.Parameters[d].Name, axes[d][index % axes[d].Length]);
            index /= axes[d].Length;
        }
        return new ParameterSet(values);
    }

    protected override void OnReport(TrialResult result) { }

    private static object[] Axis(Parameter p, int steps)
    {
        if (p is ChoiceParameter c) return c.Values.ToArray();
        if (steps == 1) return [p.Default];
        var values = new List<object>();
        for (int i = 0; i < steps; i++)
        {
            object v = p is IntParameter n ? IntAt(n, (double)i / (steps - 1)) : p.FromUnit((double)i / (steps - 1));
            if (!values.Contains(v)) values.Add(v);
        }
        return values.ToArray();
    }

    // Integer grid points span the full range (both ends included) rather than bucket centres.
    private static object IntAt(IntParameter n, double t) => n.Log
        ? (int)Math.Clamp(Math.Round(Math.Exp(Math.Log(n.Low) + t * (Math.Log(n.High) - Math.Log(n.Low)))), n.Low, n.High)
        : (int)Math.Round(n.Low + t * ((double)n.High - n.Low));
}
