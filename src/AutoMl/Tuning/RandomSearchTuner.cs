namespace MlNetLlm.AutoMl;

/// <summary>
/// Uniform random search over the unit hypercube (log parameters log-uniform). The first proposal is the space's
/// defaults. Points already proposed are not proposed again (when <c>avoidDuplicates</c>); a finite space that has
/// been fully proposed yields null.
/// </summary>
public sealed class RandomSearchTuner : TunerBase
{
    private readonly bool avoidDuplicates;
    private readonly HashSet<string> proposed = new(StringComparer.Ordinal);

    public RandomSearchTuner(SearchSpace space, int seed = 0, bool avoidDuplicates = true) : base(space, seed)
    {
        this.avoidDuplicates = avoidDuplicates;
    }

    public override ParameterSet? Propose()
    {
        if (proposed.Count == 0)
        {
            var first = Space.Defaults();
            proposed.Add(first.Key);
            return first;
        }
        if (avoidDuplicates && Space.Cardinality is long n && proposed.Count >= n) return null;
        ParameterSet p = Space.Sample(Random);
        for (int i = 0; avoidDuplicates && i < 10_000 && proposed.Contains(p.Key); i++) p = Space.Sample(Random);
        if (avoidDuplicates && proposed.Contains(p.Key)) return null;
        proposed.Add(p.Key);
        return p;
    }

    protected override void OnReport(TrialResult result) { }
}
