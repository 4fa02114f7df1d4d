namespace MlNetLlm.AutoMl.Selection;

/// <summary>
/// How much a candidate's best validation metric overstates it because it is the best of several trials scored on the
/// same rows (the winner's curse): the bias correction of Tibshirani and Tibshirani (2009, "A bias correction for the
/// minimum error rate in cross-validation"), with bootstrap resamples of the validation rows in place of their folds.
/// In each resample the best trial is chosen again; the estimate is the mean of its metric on the resample minus its
/// metric on all rows. One trial has none; twenty trials of a cheap learner whose scores differ by a few rows have some.
/// </summary>
public static class SelectionOptimism
{
    public const int Resamples = 500;

    /// <param name="trials">Each trial's per-row validation scores (their mean is the metric), all on the same rows.</param>
    public static double Estimate(IReadOnlyList<IReadOnlyList<double>> trials, int seed = 1)
    {
        if (trials.Count <= 1) return 0;
        int n = trials[0].Count;
        if (n == 0 || trials.Any(t => t.Count != n))
            throw new ArgumentException("The trials were scored on different validation rows.", nameof(trials));
        var full = trials.Select(t => t.Average()).ToArray();
        var rng = new Random(seed);
        var rows = new int[n];
        double total = 0;
        for (int b = 0; b < Resamples; b++)
        {
            for (int i = 0; i < n; i++) rows[i] = rng.Next(n);
            int best = 0;
            double bestMean = double.NegativeInfinity;
            for (int t = 0; t < trials.Count; t++)
            {
                var s = trials[t];
                double sum = 0;
                for (int i = 0; i < n; i++) sum += s[rows[i]];
                if (sum / n > bestMean) (bestMean, best) = (sum / n, t);
            }
            total += bestMean - full[best];
        }
        return Math.Max(0, total / Resamples);
    }
}
