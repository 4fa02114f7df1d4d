namespace MlNetLlm.AutoMl.Selection;

/// <summary>
/// How far apart two models are on the same validation rows, with the noise of those rows: the difference of their
/// metrics and a paired bootstrap 95% interval of it (the rows are resampled together, so what both get right or wrong
/// cancels out and only the rows they disagree on count). A leader is clearly ahead only when the whole interval is
/// above zero; otherwise the two are a tie at this validation size.
/// </summary>
/// <param name="Difference">Metric of the first model minus the second's.</param>
public sealed record PairedComparison(double Difference, double Low, double High, int Rows)
{
    /// <summary>The first model is ahead by more than the validation rows' noise.</summary>
    public bool ClearlyAhead => Low > 0;

    public const int Resamples = 2000;

    /// <summary>
    /// Compares per-row scores whose mean is the metric (1/0 for a right/wrong prediction: mean = accuracy; for
    /// regression, <see cref="RegressionScores"/>: mean difference = difference of R²). Deterministic for a seed.
    /// </summary>
    public static PairedComparison Compare(IReadOnlyList<double> first, IReadOnlyList<double> second, int seed = 1)
    {
        if (first.Count != second.Count)
            throw new ArgumentException($"The two models were scored on different rows ({first.Count} and {second.Count}).");
        int n = first.Count;
        if (n == 0) throw new ArgumentException("There are no validation rows to compare on.");
        var d = new double[n];
        for (int i = 0; i < n; i++) d[i] = first[i] - second[i];
        double mean = d.Average();
        var rng = new Random(seed);
        var means = new double[Resamples];
        for (int b = 0; b < Resamples; b++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++) sum += d[rng.Next(n)];
            means[b] = sum / n;
        }
        Array.Sort(means);
        return new PairedComparison(mean, means[(int)(0.025 * Resamples)], means[(int)(0.975 * Resamples) - 1], n);
    }

    /// <summary>Per-row scores whose means differ by the difference of R² on these rows: −squared error · n / SST.</summary>
    public static double[] RegressionScores(IReadOnlyList<double> predictions, IReadOnlyList<double> labels)
    {
        double mean = labels.Average();
        double sst = labels.Sum(y => (y - mean) * (y - mean));
        if (!(sst > 0)) sst = 1; // constant labels: R² is undefined, the squared errors still rank the models
        return predictions.Select((p, i) => -(p - labels[i]) * (p - labels[i]) * labels.Count / sst).ToArray();
    }

    public override string ToString() => $"{Difference:+0.0000;-0.0000} (95% interval {Low:+0.0000;-0.0000} to {High:+0.0000;-0.0000} over {Rows} rows)";
}
