namespace MlNetLlm.AutoMl;

/// <summary>Settings of <see cref="TpeTuner"/>.</summary>
public sealed record TpeOptions
{
    /// <summary>Random trials (the first one at the defaults) before the model is used.</summary>
    public int StartupTrials { get; init; } = 10;

    /// <summary>Fraction of reported trials (the best ones) that form the "good" density l(x).</summary>
    public double Gamma { get; init; } = 0.25;

    /// <summary>Candidates drawn from l(x) per proposal; the one with the largest l(x)/g(x) is proposed.</summary>
    public int Candidates { get; init; } = 24;

    /// <summary>Weight of the prior (a wide kernel at the centre of each float/int dimension; a uniform count for
    /// choices) relative to one observation.</summary>
    public double PriorWeight { get; init; } = 1.0;
}

/// <summary>
/// Tree-structured Parzen Estimator (Bergstra et al. 2011, univariate as in Hyperopt/Optuna). After
/// <see cref="TpeOptions.StartupTrials"/> random trials, reported trials are split by the <see cref="TpeOptions.Gamma"/>
/// quantile of the metric into good and bad (failed and pruned trials are always bad). Each dimension gets a Parzen
/// density for each group in the unit space — truncated Gaussian kernels on [0, 1] whose widths are the gaps to the
/// neighbouring observations (floats and ints), smoothed category frequencies (choices). Candidates are sampled from
/// the good density and the one maximizing l(x)/g(x) is proposed.
/// </summary>
public sealed class TpeTuner : TunerBase
{
    private readonly TpeOptions options;
    private readonly HashSet<string> proposed = new(StringComparer.Ordinal);

    public TpeTuner(SearchSpace space, int seed = 0, TpeOptions? options = null) : base(space, seed)
    {
        this.options = options ?? new TpeOptions();
        if (this.options.StartupTrials < 1) throw new ArgumentException($"TPE StartupTrials must be >= 1 (got {this.options.StartupTrials}).");
        if (!(this.options.Gamma is > 0 and < 1)) throw new ArgumentException($"TPE Gamma must be in (0, 1) (got {this.options.Gamma}).");
        if (this.options.Candidates < 1) throw new ArgumentException($"TPE Candidates must be >= 1 (got {this.options.Candidates}).");
        if (!(this.options.PriorWeight > 0)) throw new ArgumentException($"TPE PriorWeight must be > 0 (got {this.options.PriorWeight}).");
    }

    public override ParameterSet? Propose()
    {
        ParameterSet p;
        if (proposed.Count == 0) p = Space.Defaults();
        else if (History.Count < options.StartupTrials || !History.Any(h => h.IsSuccess)) p = Space.Sample(Random);
        else p = ModelProposal();
        proposed.Add(p.Key);
        return p;
    }

    protected override void OnReport(TrialResult result) { }

    private ParameterSet ModelProposal()
    {
        // Rank: successes by metric (stable by report order), then everything else.
        var ranked = History.Select((r, i) => (r, i)).OrderByDescending(t => t.r.Score).ThenBy(t => t.i).Select(t => t.r).ToList();
        int successes = ranked.Count(r => r.IsSuccess);
        int nGood = Math.Min(successes, Math.Max(1, (int)Math.Ceiling(options.Gamma * ranked.Count)));
        var good = ranked.Take(nGood).Select(r => Space.ToUnit(r.Parameters)).ToList();
        var bad = ranked.Skip(nGood).Select(r => Space.ToUnit(r.Parameters)).ToList();

        int d = Space.Dimension;
        var lModels = new IDensity[d];
        var gModels = new IDensity[d];
        for (int j = 0; j < d; j++)
        {
            var param = Space.Parameters[j];
            lModels[j] = Fit(param, good.Select(u => u[j]).ToList());
            gModels[j] = Fit(param, bad.Select(u => u[j]).ToList());
        }

        ParameterSet? best = null;
        double bestScore = double.NegativeInfinity;
        bool bestIsNew = false;
        for (int c = 0; c < options.Candidates; c++)
        {
            var u = new double[d];
            double score = 0;
            for (int j = 0; j < d; j++)
            {
                u[j] = lModels[j].Sample(Random);
                score += lModels[j].LogPdf(u[j]) - gModels[j].LogPdf(u[j]);
            }
            var candidate = Space.FromUnit(u);
            bool isNew = !proposed.Contains(candidate.Key) && !Seen.ContainsKey(candidate.Key);
            // Prefer points not tried yet; among those, the best ratio.
            if (best is null || (isNew && !bestIsNew) || (isNew == bestIsNew && score > bestScore))
            {
                best = candidate;
                bestScore = score;
                bestIsNew = isNew;
            }
        }
        return best!;
    }

    private IDensity Fit(Parameter p, List<double> observations) => p is ChoiceParameter c
        ? new Categorical(c.Values.Count, observations, options.PriorWeight)
        : new TruncatedParzen(observations, options.PriorWeight);

    private interface IDensity
    {
        double Sample(Random random);
        double LogPdf(double x);
    }

    private sealed class Categorical : IDensity
    {
        private readonly double[] p;

        public Categorical(int k, List<double> observations, double prior)
        {
            p = new double[k];
            for (int i = 0; i < k; i++) p[i] = prior / k;
            foreach (var u in observations) p[Math.Min(k - 1, (int)Math.Floor(u * k))] += 1;
            double total = p.Sum();
            for (int i = 0; i < k; i++) p[i] /= total;
        }

        public double Sample(Random random)
        {
            double r = random.NextDouble(), acc = 0;
            for (int i = 0; i < p.Length; i++)
            {
                acc += p[i];
                if (r < acc) return (i + 0.5) / p.Length;
            }
            return (p.Length - 0.5) / p.Length;
        }

        public double LogPdf(double x) => Math.Log(p[Math.Min(p.Length - 1, (int)Math.Floor(Math.Clamp(x, 0, 1) * p.Length))]);
    }

    private sealed class TruncatedParzen : IDensity
    {
        private readonly double[] mu, sigma, weight, logZ;

        public TruncatedParzen(List<double> observations, double prior)
        {
            // Kernels at each observation plus a wide prior kernel at the centre (Optuna's default bandwidth rule:
            // the larger gap to a neighbour, clipped to [1/min(100, n + 1), 1]).
            var points = observations.Select(o => (m: Math.Clamp(o, 0, 1), isPrior: false)).Append((m: 0.5, isPrior: true))
                .OrderBy(t => t.m).ThenBy(t => t.isPrior).ToList();
            int n = points.Count;
            mu = new double[n];
            sigma = new double[n];
            weight = new double[n];
            logZ = new double[n];
            double minSigma = 1.0 / Math.Min(100.0, n);
            double totalWeight = observations.Count + prior;
            for (int i = 0; i < n; i++)
            {
                mu[i] = points[i].m;
                if (points[i].isPrior) sigma[i] = 1.0;
                else
                {
                    double left = mu[i] - (i > 0 ? points[i - 1].m : 0.0);
                    double right = (i < n - 1 ? points[i + 1].m : 1.0) - mu[i];
                    sigma[i] = Math.Clamp(Math.Max(left, right), minSigma, 1.0);
                }
                weight[i] = (points[i].isPrior ? prior : 1.0) / totalWeight;
                double z = Phi((1 - mu[i]) / sigma[i]) - Phi((0 - mu[i]) / sigma[i]);
                logZ[i] = Math.Log(Math.Max(z, 1e-300));
            }
        }

        public double Sample(Random random)
        {
            double r = random.NextDouble(), acc = 0;
            int k = weight.Length - 1;
            for (int i = 0; i < weight.Length; i++)
            {
                acc += weight[i];
                if (r < acc) { k = i; break; }
            }
            for (int attempt = 0; attempt < 100; attempt++)
            {
                double v = mu[k] + sigma[k] * CfoTuner.Gaussian(random);
                if (v is >= 0 and <= 1) return v;
            }
            return Math.Clamp(mu[k], 0, 1);
        }

        public double LogPdf(double x)
        {
            // log Σ w_i N(x; μ_i, σ_i) / Z_i, computed stably.
            double max = double.NegativeInfinity;
            var terms = new double[mu.Length];
            for (int i = 0; i < mu.Length; i++)
            {
                double z = (x - mu[i]) / sigma[i];
                terms[i] = Math.Log(weight[i]) - 0.5 * z * z - Math.Log(sigma[i] * Math.Sqrt(2 * Math.PI)) - logZ[i];
                max = Math.Max(max, terms[i]);
            }
            double sum = 0;
            foreach (var t in terms) sum += Math.Exp(t - max);
            return max + Math.Log(sum);
        }
    }

    /// <summary>Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, |error| &lt; 1.5e-7).</summary>
    internal static double Phi(double x) => 0.5 * (1 + Erf(x / Math.Sqrt(2)));

    internal static double Erf(double x)
    {
        double sign = Math.Sign(x);
        x = Math.Abs(x);
        double t = 1 / (1 + 0.3275911 * x);
        double y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
        return sign * y;
    }
}
