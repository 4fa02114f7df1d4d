using MlNetLlm.AutoMl.Selection;

namespace MlNetLlm.AutoMl.Tests;

public class PairedComparisonTests
{
    private static double[] Correct(int n, Func<int, bool> right) => Enumerable.Range(0, n).Select(i => right(i) ? 1.0 : 0.0).ToArray();

    [Fact]
    public void One_row_of_48_is_a_tie()
    {
        // The report that prompted this: "ahead by 0.0208", one row of 48.
        var a = Correct(48, i => i < 30);
        var b = Correct(48, i => i < 29);
        var c = PairedComparison.Compare(a, b);
        Assert.Equal(1.0 / 48, c.Difference, 12);
        Assert.False(c.ClearlyAhead);
        Assert.True(c.Low <= 0 && c.High > 0);
    }

    [Fact]
    public void A_wide_margin_on_many_rows_is_clearly_ahead()
    {
        // 800 rows: the first model gets 60 rows right that the second gets wrong, and the second 20 the first misses.
        var a = Correct(800, i => i < 600);
        var b = Correct(800, i => i < 540 || (i >= 600 && i < 620));
        var c = PairedComparison.Compare(a, b);
        Assert.Equal(40.0 / 800, c.Difference, 12);
        Assert.True(c.ClearlyAhead, c.ToString());
    }

    [Fact]
    public void The_interval_matches_the_normal_approximation_of_the_paired_difference()
    {
        // d_i in {-1, 0, 1} with 90 discordant rows out of 800: sd of the mean ≈ sqrt(mean(d²) − mean(d)²) / sqrt(n).
        var a = Correct(800, i => i < 500 || (i >= 700 && i < 760));
        var b = Correct(800, i => i < 470 || (i >= 600 && i < 600 + 0));
        var c = PairedComparison.Compare(a, b, seed: 7);
        var d = a.Zip(b, (x, y) => x - y).ToArray();
        double m = d.Average(), sd = Math.Sqrt(d.Select(x => x * x).Average() - m * m) / Math.Sqrt(d.Length);
        Assert.Equal(m - 1.96 * sd, c.Low, 2);
        Assert.Equal(m + 1.96 * sd, c.High, 2);
    }

    [Fact]
    public void Regression_scores_differ_by_the_difference_of_r_squared()
    {
        double[] y = [1, 2, 3, 4, 5, 6];
        double[] p1 = [1.1, 2.2, 2.9, 4.1, 5.3, 5.8], p2 = [1.5, 2.5, 2.5, 4.5, 4.5, 6.5];
        double R2(double[] p) => 1 - p.Select((v, i) => (v - y[i]) * (v - y[i])).Sum() / y.Select(v => (v - 3.5) * (v - 3.5)).Sum();
        var s1 = PairedComparison.RegressionScores(p1, y);
        var s2 = PairedComparison.RegressionScores(p2, y);
        Assert.Equal(R2(p1) - R2(p2), s1.Average() - s2.Average(), 12);
    }

    [Fact]
    public void Rows_must_be_the_same()
    {
        var e = Assert.Throws<ArgumentException>(() => PairedComparison.Compare([1, 0], [1]));
        Assert.Contains("different rows", e.Message);
    }
}
