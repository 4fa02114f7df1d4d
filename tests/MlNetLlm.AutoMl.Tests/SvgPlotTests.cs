using MlNetLlm.AutoMl.Experiments;

namespace MlNetLlm.AutoMl.Tests;

public class SvgPlotTests
{
    [Fact]
    public void Linear_axes_get_round_ticks_that_cover_the_data()
    {
        // The report that prompted this: seconds from -1.343 to 64.178.
        var a = SvgPlot.AxisFor([0.2, 3.9, 61.0]);
        Assert.Equal([0, 20, 40, 60, 80], a.Ticks);
        var m = SvgPlot.AxisFor([0.7588, 0.8025, 0.8250]);
        Assert.Equal([0.74, 0.76, 0.78, 0.8, 0.82, 0.84], m.Ticks.Select(t => Math.Round(t, 6)));
        Assert.All(new[] { 0.7588, 0.825 }, v => Assert.InRange(v, m.Min, m.Max));
    }

    [Fact]
    public void A_log_axis_of_few_values_ticks_at_the_values_and_a_wide_one_at_powers_of_ten()
    {
        var batch = SvgPlot.AxisFor([32, 32, 32], log: true); // every trial used 32: one tick, 32
        Assert.Equal([32], batch.Ticks);
        Assert.True(batch.Min < 32 && batch.Max > 32);
        var lr = SvgPlot.AxisFor([3e-6, 2e-5, 5e-5, 1e-4, 2e-4, 4e-4, 8e-4], log: true);
        Assert.Equal([1e-6, 1e-5, 1e-4, 1e-3], lr.Ticks);
    }

    [Theory]
    [InlineData(0.8, "0.8")]
    [InlineData(1e-4, "1E-4")]
    [InlineData(64, "64")]
    [InlineData(0.12, "0.12")]
    public void Tick_labels_have_no_noise_digits(double v, string label) => Assert.Equal(label, SvgPlot.Tick(v));
}
