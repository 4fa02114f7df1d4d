namespace MlNetLlm.AutoMl;

/// <summary>
/// A warm start: configurations known to work are tried first, in order, then the inner tuner takes over, having
/// learned from their results (every result is reported to it, so a CFO search starts from the best of them). As
/// FLAML's and ML.NET AutoZero's portfolios do, this spends the first, scarcest seconds of a budget where they are
/// most likely to pay.
/// </summary>
public sealed class PortfolioTuner : ITuner
{
    private readonly ITuner _inner;
    private readonly Queue<ParameterSet> _portfolio;
    private readonly HashSet<string> _proposed = new(StringComparer.Ordinal);

    public PortfolioTuner(ITuner inner, IEnumerable<ParameterSet> portfolio)
    {
        _inner = inner;
        _portfolio = new Queue<ParameterSet>(portfolio.Select(p => inner.Space.Validate(p)));
    }

    public SearchSpace Space => _inner.Space;
    public TrialResult? Best => _inner.Best;

    /// <summary>Portfolio configurations not proposed yet.</summary>
    public int Remaining => _portfolio.Count;

    public ParameterSet? Propose()
    {
        while (_portfolio.TryDequeue(out var p))
            if (_proposed.Add(p.Key)) return p;
        // The inner tuner may propose a point the portfolio already covered (CFO's low-cost start): skip those.
        for (int i = 0; i < 100; i++)
        {
            var next = _inner.Propose();
            if (next is null) return null;
            if (_proposed.Add(next.Key)) return next;
        }
        return null;
    }

    public void Report(TrialResult result)
    {
        _proposed.Add(result.Parameters.Key);
        _inner.Report(result);
    }
}
