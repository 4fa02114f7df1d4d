using Microsoft.ML;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Transforms.FeatureSelection;

namespace MlNetLlm.Transforms.Tests;

/// <summary>Multiclass and regression labels: kind detection, data evidence, the blend's metric, and labels that fit no kind.</summary>
public class LabelKindTests
{
    /// <summary>The clinic table with a three-class label ('low'/'mid'/'high' risk) or a continuous one, driven by pressure, age and smoker.</summary>
    private static IDataView ClinicWith(string kind, int n = 900, int seed = 3)
    {
        var c = Clinic.Make(n, seed);
        var r = new Random(seed + 100);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
        var z = Enumerable.Range(0, n).Select(i => 0.08 * ((float.IsNaN(c.Pressure[i]) ? 120 : c.Pressure[i]) - 120) + 0.05 * ((float.IsNaN(c.Age[i]) ? 50 : c.Age[i]) - 50)
                                                   + 1.0 * (c.Smoker[i] == "yes" ? 1 : 0) + 0.5 * Normal()).ToArray();
        var b = new InMemoryDataViewBuilder(n)
            .AddFloat("pressure", c.Pressure).AddFloat("age", c.Age).AddText("smoker", c.Smoker)
            .AddFloat("noise_a", c.NoiseA).AddFloat("noise_b", c.NoiseB).AddFloat("noise_c", c.NoiseC).AddText("region", c.Region);
        return (kind == "multiclass"
            ? b.AddText("outcome", z.Select(v => v < 0 ? "low" : v < 1 ? "mid" : "high").ToArray())
            : b.AddFloat("outcome", z.Select(v => (float)(10 * v + 40)).ToArray())).Build();
    }

    private static LlmFeatureSelectionTransformer Fit(IDataView data, Action<LlmFeatureSelectionEstimator.Options>? change = null)
    {
        var o = Clinic.Options("", FeatureSelectionMode.Data);
        change?.Invoke(o);
        return new MLContext().Transforms.FeatureSelection.SelectFeaturesWithLlm(o).Fit(data);
    }

    [Theory]
    [InlineData("multiclass", DataEvidenceKind.L1)]
    [InlineData("multiclass", DataEvidenceKind.MutualInformation)]
    [InlineData("multiclass", DataEvidenceKind.Both)]
    [InlineData("regression", DataEvidenceKind.L1)]
    [InlineData("regression", DataEvidenceKind.MutualInformation)]
    [InlineData("regression", DataEvidenceKind.Both)]
    public void DataEvidenceRanksTheInformativeColumnsFirst(string kind, DataEvidenceKind evidence)
    {
        var t = Fit(ClinicWith(kind), o => o.DataEvidence = evidence);
        Assert.Equal(kind == "multiclass" ? LabelKind.Multiclass : LabelKind.Regression, t.Report.LabelKind);
        Assert.Equal(Clinic.Informative.Order(), t.Report.KeptColumns.Order());
        var pressure = t.Report.Features.Single(f => f.Name == "pressure");
        var noise = t.Report.Features.Single(f => f.Name == "noise_b");
        Assert.True(pressure.MutualInformation > 5 * noise.MutualInformation, $"{pressure.MutualInformation} vs {noise.MutualInformation}");
        Assert.All(t.Report.Features, f => Assert.InRange(f.DataScore, 0, 1));
    }

    [Theory]
    [InlineData("multiclass", "macro one-vs-rest AUROC")]
    [InlineData("regression", "R²")]
    public void BlendUsesTheKindsMetricAndNeverLosesToDataOnItsFolds(string kind, string metric)
    {
        using var tmp = new TempDir();
        // A backwards prior: full trust must cost the metric, and the chosen weight must not.
        using var server = new FakeLlmServer(r => new FakeReply(FakeLlmServer.ScoresJson(r.FeatureNames.Select(n => (n, Clinic.BadScore(n))))));
        var o = Clinic.Options(tmp.Path, FeatureSelectionMode.Blend);
        var t = new LlmFeatureSelectionEstimator(o, Clients.OpenAi(server)).Fit(ClinicWith(kind));
        Assert.Equal(metric, t.Report.CrossValidationMetric);
        var cv = t.Report.CrossValidation;
        Assert.Equal(5, cv.Count);
        var dataOnly = cv.Single(c => c.Weight == 0).MeanScore;
        Assert.True(cv.Single(c => c.Weight == t.Report.LlmWeight).MeanScore >= dataOnly);
        Assert.True(cv.Single(c => c.Weight == 1).MeanScore < dataOnly - 0.05, $"full trust in a backwards prior: {cv.Single(c => c.Weight == 1).MeanScore} vs {dataOnly}");
        Assert.Equal(Clinic.Informative.Order(), t.Report.KeptColumns.Order());
        // The prompt states the kind of task.
        Assert.Contains(kind == "multiclass" ? "Kind of task: multiclass classification, 3 classes ('high', 'low', 'mid')" : "Kind of task: regression", server.Requests[0].UserPrompt);
        Assert.Contains($"Cross-validated {metric} by LLM weight", t.Report.ToMarkdown());
    }

    [Fact]
    public void AutoKindFromTheValues()
    {
        IDataView With(float[] y) => new InMemoryDataViewBuilder(y.Length).AddFloat("x", y.Select((_, i) => (float)(i % 7)).ToArray()).AddFloat("outcome", y).Build();
        var ints = Enumerable.Range(0, 60).Select(i => (float)(i % 3 + 1)).ToArray();
        Assert.Equal(LabelKind.Multiclass, Fit(With(ints), o => o.KeepCount = 1).Report.LabelKind);
        Assert.Equal(LabelKind.Regression, Fit(With(ints), o => { o.KeepCount = 1; o.LabelKind = LabelKind.Regression; }).Report.LabelKind);
        var reals = Enumerable.Range(0, 60).Select(i => i * 0.37f).ToArray();
        Assert.Equal(LabelKind.Regression, Fit(With(reals), o => o.KeepCount = 1).Report.LabelKind);
        var two = Enumerable.Range(0, 60).Select(i => (float)(i % 2)).ToArray();
        Assert.Equal(LabelKind.Binary, Fit(With(two), o => o.KeepCount = 1).Report.LabelKind);
        // Many distinct integers (a count) are a number to predict, not classes.
        var counts = Enumerable.Range(0, 60).Select(i => (float)(i % 25)).ToArray();
        Assert.Equal(LabelKind.Regression, Fit(With(counts), o => o.KeepCount = 1).Report.LabelKind);
        // The same 25 values as a key are class indices: multiclass.
        var ml = new MLContext();
        var keyed = ml.Transforms.Conversion.MapValueToKey("outcome").Fit(With(counts)).Transform(With(counts));
        Assert.Equal(LabelKind.Multiclass, Fit(keyed, o => o.KeepCount = 1).Report.LabelKind);
    }

    [Fact]
    public void LabelsThatFitNoKindAreRefusedWithTheReason()
    {
        IDataView Text(string[] y) => new InMemoryDataViewBuilder(y.Length).AddFloat("x", y.Select((_, i) => (float)i).ToArray()).AddText("outcome", y).Build();
        var constant = Assert.Throws<ArgumentException>(() => Fit(Text(["a", "a", "a", ""])));
        Assert.Contains("Label column 'outcome' has only one value ('a')", constant.Message);
        var ids = Assert.Throws<ArgumentException>(() => Fit(Text(["id1", "id2", "id3", "id4", "id5"])));
        Assert.Contains("Label column 'outcome' has a different value in every one of its 5 rows", ids.Message);
        Assert.Contains("not a class label", ids.Message);
        var notNumber = Assert.Throws<ArgumentException>(() => Fit(Text(["1.5", "2", "x", "3"]), o => o.LabelKind = LabelKind.Regression));
        Assert.Contains("Label column 'outcome' is set to regression but has the value 'x', which is not a finite number", notNumber.Message);
        var positive = Assert.Throws<ArgumentException>(() => Fit(Text(["a", "b", "c", "a", "b", "c"]), o => o.PositiveLabel = "a"));
        Assert.Contains("Options.PositiveLabel applies to binary labels; label 'outcome' is multiclass", positive.Message);
        var binary = Assert.Throws<ArgumentException>(() => Fit(Text(["a", "b", "c", "a"]), o => o.LabelKind = LabelKind.Binary));
        Assert.Contains("is set to binary but has 3 distinct values", binary.Message);
    }

    [Fact]
    public void TooFewRowsInAClassForCrossValidationMeansWeightZeroWithANote()
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(r => new FakeReply(FakeLlmServer.ScoresJson(r.FeatureNames.Select(n => (n, Clinic.GoodScore(n))))));
        var data = new InMemoryDataViewBuilder(9).AddFloat("pressure", [1, 2, 3, 4, 5, 6, 7, 8, 9]).AddFloat("age", [3, 1, 4, 1, 5, 9, 2, 6, 5])
            .AddText("outcome", ["a", "a", "a", "a", "b", "b", "b", "b", "c"]).Build();
        var o = Clinic.Options(tmp.Path, FeatureSelectionMode.Blend);
        o.KeepCount = 1;
        var t = new LlmFeatureSelectionEstimator(o, Clients.OpenAi(server)).Fit(data);
        Assert.Equal(0, t.Report.LlmWeight);
        Assert.Contains(t.Report.Notes, n => n.StartsWith("Too few rows in the smallest class for 3-fold cross-validation"));
    }

    /// <summary>Real data: on sklearn's diabetes table the Lasso path enters bmi, s5 and bp first (as LARS does: Efron et al. 2004, table 1 order).</summary>
    [Fact]
    public void DiabetesLassoPathMatchesTheKnownEntryOrder()
    {
        var ml = new MLContext();
        var data = CsvTable.Load(TestFiles.Sample("sklearn_diabetes.csv")).ToDataView(ml);
        var t = Fit(data, o => { o.LabelColumnName = "target"; o.KeepCount = 3; o.DataEvidence = DataEvidenceKind.L1; });
        Assert.Equal(LabelKind.Regression, t.Report.LabelKind);
        // The 12-step grid lets bmi and s5 enter on the same step (the final weight size orders them); bp comes after both.
        Assert.Equal(["bmi", "bp", "s5"], t.Report.KeptColumns.Order());
        Assert.Equal("bp", t.Report.KeptColumns[2]);
    }

    /// <summary>Real data: penguin species are separated by bill and flipper sizes (and island), not by sex or year-like noise.</summary>
    [Fact]
    public void PenguinSpeciesKeepsBillAndFlipperMeasurements()
    {
        using var tmp = new TempDir();
        var o = Clinic.Options("", FeatureSelectionMode.Data);
        o.LabelColumnName = "species";
        o.KeepCount = 3;
        var run = FeatureSelectionFiles.Run(TestFiles.Sample("modeldata_penguins.csv"), tmp.Path, o, chatClient: null);
        var report = run.Transformer.Report;
        Assert.Equal(LabelKind.Multiclass, report.LabelKind);
        Assert.Contains("3 classes (Adelie 152, Chinstrap 68, Gentoo 124)", report.Label);
        Assert.DoesNotContain("sex", report.KeptColumns);
        Assert.Contains("bill_length_mm", report.KeptColumns);
        Assert.True(File.Exists(run.ModelPath));
    }

    [Fact]
    public void ElasticNetMatchesClosedForms()
    {
        // One standardised slot: the Lasso solution is the soft-thresholded correlation.
        double[] x = [-1.5, -0.5, 0.5, 1.5];
        double sd = Math.Sqrt(x.Sum(v => v * v) / 4);
        x = x.Select(v => v / sd).ToArray();
        double[] y = [-2, 0, 1, 1];
        double xy = x.Zip(y).Sum(p => p.First * p.Second) / 4;
        Assert.Equal(xy - 0.1, LinearEvidence.ElasticNet([x], y, 0.1, 0)[0], 9);
        Assert.Equal(0, LinearEvidence.ElasticNet([x], y, xy + 0.01, 0)[0]);
        // Two slots, ridge: (XᵀX/n + λI) w = Xᵀy/n, solved by hand.
        double[] a = [1, -1, 1, -1], b = [1, 1, -1, -1.0];
        double[] yy = [3, 1, 0, -2];
        var w = LinearEvidence.ElasticNet([a, b], yy, 0, 0.5);
        // a and b are orthogonal with aᵀa/n = bᵀb/n = 1: w = (Xᵀy/n) / 1.5.
        Assert.Equal(a.Zip(yy).Sum(p => p.First * p.Second) / 4 / 1.5, w[0], 6);
        Assert.Equal(b.Zip(yy).Sum(p => p.First * p.Second) / 4 / 1.5, w[1], 6);
    }

    [Fact]
    public void MacroAucOfPerfectAndUninformativeScores()
    {
        int[] y = [0, 1, 2, 0, 1, 2];
        var perfect = y.Select(c => Enumerable.Range(0, 3).Select(k => k == c ? 5.0 : 0.0).ToArray()).ToArray();
        Assert.Equal(1.0, LinearEvidence.MacroAuc(perfect, y, 3), 12);
        var flat = y.Select(_ => new[] { 1.0, 1.0, 1.0 }).ToArray();
        Assert.Equal(0.5, LinearEvidence.MacroAuc(flat, y, 3), 12);
        Assert.Equal(0.5, LinearEvidence.RSquared([1, 2, 2], [1, 2, 3]), 12); // SSE 1, SST 2
    }
}

/// <summary>Files the tests read from the repository (copied next to the test assembly).</summary>
public static class TestFiles
{
    public static string Sample(string name) => Path.Combine(AppContext.BaseDirectory, "data", name);
}
