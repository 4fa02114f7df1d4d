using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Transforms.FeatureSelection;

namespace MlNetLlm.Transforms.Tests;

/// <summary>Data mode, keep rules, the Features vector, and bad input. No LLM needed.</summary>
public class EstimatorTests
{
    private static LlmFeatureSelectionEstimator.Options DataOptions(Action<LlmFeatureSelectionEstimator.Options>? change = null)
    {
        var o = Clinic.Options("", FeatureSelectionMode.Data);
        change?.Invoke(o);
        return o;
    }

    private static LlmFeatureSelectionTransformer Fit(IDataView data, Action<LlmFeatureSelectionEstimator.Options>? change = null) =>
        new MLContext().Transforms.FeatureSelection.SelectFeaturesWithLlm(DataOptions(change)).Fit(data);

    [Theory]
    [InlineData(DataEvidenceKind.Both)]
    [InlineData(DataEvidenceKind.MutualInformation)]
    [InlineData(DataEvidenceKind.L1)]
    public void DataEvidenceRanksTheInformativeColumnsFirst(DataEvidenceKind kind)
    {
        var t = Fit(Clinic.Make(1000).ToDataView(), o => o.DataEvidence = kind);
        Assert.Equal(FeatureSelectionMode.Data, t.Report.Mode);
        Assert.False(t.Report.FellBackToData);
        Assert.Equal(0, t.Report.LlmWeight);
        Assert.Equal(Clinic.Informative.Order(), t.Report.KeptColumns.Order());
        Assert.All(t.Report.Features, f => Assert.InRange(f.DataScore, 0, 1));
        Assert.InRange(t.Report.Features.Max(f => f.DataScore), 0.99, 1.0);
    }

    [Fact]
    public void MutualInformationAndL1AreBothReported()
    {
        var t = Fit(Clinic.Make(1000).ToDataView(), o => o.DataEvidence = DataEvidenceKind.Both);
        var p = t.Report.Features.Single(f => f.Name == "pressure");
        var n = t.Report.Features.Single(f => f.Name == "noise_b");
        Assert.True(p.MutualInformation > 5 * n.MutualInformation, $"{p.MutualInformation} vs {n.MutualInformation}");
        Assert.True(p.L1 > n.L1);
        Assert.Equal((p.MutualInformation / t.Report.Features.Max(f => f.MutualInformation) + p.L1) / 2, p.DataScore, 9);
        // L1 (the default) ranks by the path alone, and still reports mutual information.
        var l1 = Fit(Clinic.Make(1000).ToDataView());
        Assert.Equal(DataEvidenceKind.L1, l1.Report.DataEvidence);
        Assert.All(l1.Report.Features, f => Assert.Equal(f.L1, f.DataScore));
        Assert.True(l1.Report.Features.Single(f => f.Name == "pressure").MutualInformation > 0);
    }

    [Fact]
    public void NoLlmConfiguredRunsDataModeAndSaysSo()
    {
        var o = Clinic.Options("", FeatureSelectionMode.Blend);
        var t = new LlmFeatureSelectionEstimator(o, chatClient: null).Fit(Clinic.Make().ToDataView());
        Assert.Equal(FeatureSelectionMode.Blend, t.Report.RequestedMode);
        Assert.Equal(FeatureSelectionMode.Data, t.Report.Mode);
        Assert.True(t.Report.FellBackToData);
        Assert.Contains("No LLM configured: ran data mode instead of blend mode.", t.Report.Notes);
        Assert.Contains("(requested blend)", t.Report.ToMarkdown());
    }

    [Fact]
    public void KeepRules()
    {
        var data = Clinic.Make().ToDataView(withUseless: true); // 7 usable + 2 useless columns
        Assert.Equal(2, Fit(data, o => o.KeepCount = 2).Report.KeptColumns.Count);
        Assert.Equal(4, Fit(data, o => { o.KeepCount = null; o.KeepFraction = 0.5; }).Report.KeptColumns.Count); // 3.5 → 4
        Assert.Single(Fit(data, o => { o.KeepCount = null; o.KeepFraction = 0.01; }).Report.KeptColumns);
        Assert.Equal(7, Fit(data, o => o.KeepCount = 50).Report.KeptColumns.Count);
        Assert.Equal("top 50 (all 7 usable)", Fit(data, o => o.KeepCount = 50).Report.KeepRule);
        Assert.Equal(4, Fit(data, o => o.KeepCount = null).Report.KeptColumns.Count); // default: half

        var th = Fit(data, o => { o.KeepCount = null; o.ScoreThreshold = 0.3; });
        Assert.All(th.Report.Features, f => Assert.Equal(f.Score >= 0.3 && f.Rank > 0, f.Kept));
        var none = Fit(data, o => { o.KeepCount = null; o.ScoreThreshold = 1; });
        Assert.Single(none.Report.KeptColumns); // at least the best one
    }

    [Fact]
    public void FeaturesVectorOneHotsCategoricalsAndImputesMissingNumbers()
    {
        var clinic = Clinic.Make();
        var data = clinic.ToDataView();
        var t = Fit(data, o => { o.FeatureColumnNames = ["pressure", "smoker", "region"]; o.KeepCount = 3; });
        Assert.Equal(["pressure", "smoker", "region"], t.SelectedColumns); // input order
        var output = t.Transform(data);
        var col = output.Schema["Features"];
        Assert.Equal(1 + 2 + 4, ((VectorDataViewType)col.Type).Size);
        VBuffer<ReadOnlyMemory<char>> slots = default;
        col.GetSlotNames(ref slots);
        Assert.Equal(["pressure", "smoker.no", "smoker.yes", "region.east", "region.north", "region.south", "region.west"],
            slots.DenseValues().Select(s => s.ToString()).Take(3).Concat(slots.DenseValues().Select(s => s.ToString()).Skip(3).Order()));
        var rows = PersistenceTests.Features(output);
        Assert.All(rows, r => Assert.All(r, v => Assert.False(float.IsNaN(v))));
        double mean = clinic.Pressure.Where(v => !float.IsNaN(v)).Average();
        Assert.Equal(mean, rows[3][0], 2); // row 3's pressure was missing
        Assert.Equal(clinic.Pressure[0], rows[0][0]);
        Assert.Equal(0, rows[11][1] + rows[11][2]); // row 11's smoker was empty: no level
        Assert.Equal(1, rows[0][1] + rows[0][2]);
        // The input columns are all still there, unchanged.
        Assert.Equal("smoker", output.Schema["smoker"].Name);
        Assert.IsType<TextDataViewType>(output.Schema["smoker"].Type);
        Assert.Equal(NumberDataViewType.Single, output.Schema["pressure"].Type);
    }

    [Fact]
    public void UnseenCategoriesEncodeAsZeros()
    {
        var t = Fit(Clinic.Make().ToDataView(), o => { o.FeatureColumnNames = ["region", "pressure"]; o.KeepCount = 2; });
        var fresh = new InMemoryDataViewBuilder(1).AddText("region", ["atlantis"]).AddFloat("pressure", [130]).AddText("outcome", ["well"]).Build();
        var row = PersistenceTests.Features(t.Transform(fresh)).Single();
        Assert.Equal([0f, 0f, 0f, 0f, 130f], row);
    }

    [Fact]
    public void OtherNumericTypesAndBooleansAreConverted()
    {
        int n = 200;
        var r = new Random(3);
        var x = Enumerable.Range(0, n).Select(_ => r.NextDouble()).ToArray();
        var ml = new MLContext();
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, n).Select(i => new TypedRow
        {
            Dose = x[i], Visits = i % 7, Flag = x[i] > 0.5, Label = x[i] + 0.2 * r.NextDouble() > 0.6,
        }));
        var t = ml.Transforms.FeatureSelection.SelectFeaturesWithLlm(new LlmFeatureSelectionEstimator.Options
        {
            LabelColumnName = "Label", Mode = FeatureSelectionMode.Data, KeepCount = 3, CacheDirectory = null,
        }).Fit(data);
        Assert.Equal(["Dose", "Visits", "Flag"], t.SelectedColumns);
        var row = PersistenceTests.Features(t.Transform(data))[0];
        Assert.Equal([(float)x[0], 0f, x[0] > 0.5 ? 1f : 0f], row);
    }

    private sealed class TypedRow
    {
        public double Dose { get; set; }
        public int Visits { get; set; }
        public bool Flag { get; set; }
        public bool Label { get; set; }
    }

    [Fact]
    public void FreeTextColumnsAreFeaturizedAndScored()
    {
        int n = 300;
        var r = new Random(5);
        var label = new string[n];
        var notes = new string[n];
        var other = new float[n];
        string[] filler = ["patient", "seen", "today", "follow", "up", "visit", "routine"];
        for (int i = 0; i < n; i++)
        {
            bool sick = r.NextDouble() < 0.4;
            label[i] = sick ? "1" : "0";
            var words = Enumerable.Range(0, 5).Select(_ => filler[r.Next(filler.Length)]).ToList();
            if (sick && r.NextDouble() < 0.8) words.Insert(r.Next(words.Count), "fever");
            notes[i] = string.Join(" ", words);
            other[i] = (float)r.NextDouble();
        }
        var data = new InMemoryDataViewBuilder(n).AddText("notes", notes).AddFloat("other", other).AddText("y", label).Build();
        var t = new MLContext().Transforms.FeatureSelection.SelectFeaturesWithLlm(new LlmFeatureSelectionEstimator.Options
        {
            LabelColumnName = "y", TextColumnNames = ["notes"], Mode = FeatureSelectionMode.Data, KeepCount = 1, CacheDirectory = null,
        }).Fit(data);
        Assert.Equal(["notes"], t.SelectedColumns);
        Assert.Equal(FeatureKind.Text, t.Report.Features.Single(f => f.Name == "notes").Kind);
        Assert.True(((VectorDataViewType)t.Transform(data).Schema["Features"].Type).Size > 10);
    }

    [Fact]
    public void ReportTables()
    {
        var t = Fit(Clinic.Make().ToDataView(withUseless: true));
        var csv = t.Report.ToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("rank,column,kind,kept,score,llm_score,mutual_information,l1,data_score,llm_reason,note", csv[0]);
        Assert.Equal(10, csv.Length);
        Assert.StartsWith("1,", csv[1]);
        Assert.Contains(csv, l => l.StartsWith("0,constant,numeric,no,", StringComparison.Ordinal) && l.EndsWith("excluded: constant"));
        var md = t.Report.ToMarkdown();
        Assert.Contains("| rank | column | kind | kept | score | LLM | MI | L1 | data | LLM reason | note |", md);
        Assert.Contains("Mode: **data**", md);
        Assert.Contains("- Not usable as features: 'constant' (constant); 'empty' (all values missing).", md);
        Assert.Contains("excluded: all values missing", t.Report.ToString());
    }

    // ---- bad input -----------------------------------------------------------------------------------------------

    [Fact]
    public void ALabelWithOneClassIsRefused()
    {
        var data = new InMemoryDataViewBuilder(3).AddFloat("x", [1, 2, 3]).AddText("outcome", ["well", "well", ""]).Build();
        var e = Assert.Throws<ArgumentException>(() => Fit(data));
        Assert.Contains("Label column 'outcome' has only one value ('well')", e.Message);
    }

    [Fact]
    public void ATextLabelWithADistinctValuePerRowIsRefused()
    {
        var data = new InMemoryDataViewBuilder(3).AddFloat("x", [1, 2, 3]).AddText("outcome", ["p1", "p2", "p3"]).Build();
        var e = Assert.Throws<ArgumentException>(() => Fit(data));
        Assert.Contains("Label column 'outcome' has a different value in every one of its 3 rows", e.Message);
    }

    [Fact]
    public void ConstantAndAllMissingColumnsAreExcludedWithAReason()
    {
        var t = Fit(Clinic.Make().ToDataView(withUseless: true), o => o.KeepCount = 9);
        var constant = t.Report.Features.Single(f => f.Name == "constant");
        var empty = t.Report.Features.Single(f => f.Name == "empty");
        Assert.False(constant.Kept);
        Assert.False(empty.Kept);
        Assert.Equal(0, constant.Rank);
        Assert.Equal("excluded: constant", constant.Note);
        Assert.Equal("excluded: all values missing", empty.Note);
        Assert.Equal(7, t.Report.KeptColumns.Count);
        Assert.DoesNotContain("constant", t.SelectedColumns);
    }

    [Fact]
    public void OnlyUselessColumnsIsAnErrorNamingThem()
    {
        var data = new InMemoryDataViewBuilder(4).AddFloat("c", [1, 1, 1, 1]).AddFloat("e", [float.NaN, float.NaN, float.NaN, float.NaN])
            .AddText("outcome", ["a", "b", "a", "b"]).Build();
        var e = Assert.Throws<ArgumentException>(() => Fit(data));
        Assert.Contains("'c' is constant", e.Message);
        Assert.Contains("'e' is all values missing", e.Message);
    }

    [Fact]
    public void ADescriptionOfAColumnThatDoesNotExistIsAnError()
    {
        var e = Assert.Throws<ArgumentException>(() => Fit(Clinic.Make().ToDataView(), o => o.ColumnDescriptions = new() { ["presure"] = "blood pressure" }));
        Assert.Contains("The descriptions name column 'presure', which is not in the data", e.Message);
        Assert.Contains("pressure", e.Message);
    }

    [Fact]
    public void DuplicateSlotNamesAfterOneHotAreAnErrorNamingBothColumns()
    {
        var r = new Random(2);
        int n = 100;
        var color = Enumerable.Range(0, n).Select(i => i % 2 == 0 ? "red" : "blue").ToArray();
        var label = color.Select(c => (c == "red") ^ (r.NextDouble() < 0.2) ? "1" : "0").ToArray();
        var data = new InMemoryDataViewBuilder(n).AddText("color", color)
            .AddFloat("color.red", Enumerable.Range(0, n).Select(_ => (float)r.NextDouble()).ToArray()).AddText("y", label).Build();
        var e = Assert.Throws<ArgumentException>(() => new LlmFeatureSelectionEstimator(new LlmFeatureSelectionEstimator.Options
        {
            LabelColumnName = "y", Mode = FeatureSelectionMode.Data, KeepCount = 2, CacheDirectory = null,
        }).Fit(data));
        Assert.Contains("Feature slot name 'color.red' would come from more than one column ('color', 'color.red')", e.Message);
    }

    [Fact]
    public void MissingColumnsAreNamed()
    {
        var data = Clinic.Make().ToDataView();
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => Fit(data, o => o.LabelColumnName = "diagnosis"));
        Assert.Contains("Label column 'diagnosis' not found in the input schema", e1.Message);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => Fit(data, o => o.FeatureColumnNames = ["age", "weight"]));
        Assert.Contains("Feature column 'weight' not found", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => Fit(data, o => o.TextColumnNames = ["age"]));
        Assert.Contains("Column 'age' is listed in Options.TextColumnNames but has type Single", e3.Message);
        var e4 = Assert.Throws<ArgumentException>(() => Fit(data, o => o.FeatureColumnNames = ["age", "outcome"]));
        Assert.Contains("Column 'outcome' is the label", e4.Message);
    }

    [Fact]
    public void BadOptionsAreNamed()
    {
        Assert.Contains("Set only one of Options.KeepCount", Assert.Throws<ArgumentException>(() => new LlmFeatureSelectionEstimator(DataOptions(o => o.KeepFraction = 0.5))).Message);
        Assert.Contains("KeepFraction", Assert.Throws<ArgumentOutOfRangeException>(() => new LlmFeatureSelectionEstimator(DataOptions(o => { o.KeepCount = null; o.KeepFraction = 1.5; }))).Message);
        Assert.Contains("KeepCount", Assert.Throws<ArgumentOutOfRangeException>(() => new LlmFeatureSelectionEstimator(DataOptions(o => o.KeepCount = 0))).Message);
        Assert.Contains("TaskDescription is needed in llm mode", Assert.Throws<ArgumentException>(() =>
            new LlmFeatureSelectionEstimator(new LlmFeatureSelectionEstimator.Options { Mode = FeatureSelectionMode.Llm })).Message);
        Assert.Contains("RequestTimeout", Assert.Throws<ArgumentOutOfRangeException>(() => new LlmFeatureSelectionEstimator(DataOptions(o => o.RequestTimeout = TimeSpan.Zero))).Message);
    }

    [Fact]
    public void VectorColumnsAreLeftOutUnlessNamed()
    {
        var data = new InMemoryDataViewBuilder(4).AddFloat("x", [1, 2, 3, 4]).AddVector("v", [[1, 2], [3, 4], [5, 6], [7, 8]], 2)
            .AddText("outcome", ["a", "b", "a", "b"]).Build();
        var t = Fit(data, o => o.KeepCount = 1);
        Assert.Contains(t.Report.Notes, n => n.Contains("Column 'v' has type Vector<Single, 2>") && n.Contains("left out"));
        var e = Assert.Throws<ArgumentException>(() => Fit(data, o => { o.KeepCount = 1; o.FeatureColumnNames = ["x", "v"]; }));
        Assert.Contains("Column 'v' has type Vector<Single, 2>", e.Message);
    }

    [Fact]
    public void GetOutputSchemaAddsTheFeaturesVectorAndChecksColumns()
    {
        var ml = new MLContext();
        var data = Clinic.Make().ToDataView();
        var est = ml.Transforms.FeatureSelection.SelectFeaturesWithLlm(DataOptions());
        var shape = est.GetOutputSchema(ShapeOf(data.Schema));
        var f = shape.Single(c => c.Name == "Features");
        Assert.Equal(SchemaShape.Column.VectorKind.Vector, f.Kind);
        Assert.Equal(NumberDataViewType.Single, f.ItemType);
        Assert.Contains(shape, c => c.Name == "pressure");
        var bad = ml.Transforms.FeatureSelection.SelectFeaturesWithLlm(DataOptions(o => o.LabelColumnName = "nope"));
        Assert.Contains("Label column 'nope'", Assert.Throws<ArgumentOutOfRangeException>(() => bad.GetOutputSchema(ShapeOf(data.Schema))).Message);
    }

    // SchemaShape.Create is internal in ML.NET; pipelines call GetOutputSchema with shapes they build the same way.
    private static SchemaShape ShapeOf(DataViewSchema s) =>
        (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic, [typeof(DataViewSchema)])!
            .Invoke(null, [s])!;

    [Fact]
    public void WorksInsideAnMlNetPipeline()
    {
        var ml = new MLContext(1);
        var data = Clinic.Make(600).ToDataView();
        var pipeline = ml.Transforms.FeatureSelection.SelectFeaturesWithLlm(DataOptions())
            .Append(ml.Transforms.Conversion.MapValueToKey("Label", "outcome"))
            .Append(ml.Transforms.Conversion.MapKeyToValue("Label")) // back to text
            .Append(ml.Transforms.CustomMapping<LabelIn, LabelOut>((i, o) => o.IsSick = i.Label.ToString() == "sick", null))
            .Append(ml.BinaryClassification.Trainers.LbfgsLogisticRegression("IsSick", "Features"));
        var model = pipeline.Fit(data);
        var metrics = ml.BinaryClassification.Evaluate(model.Transform(data), "IsSick");
        Assert.True(metrics.AreaUnderRocCurve > 0.8, $"AUC {metrics.AreaUnderRocCurve}");
    }

    private sealed class LabelIn { public ReadOnlyMemory<char> Label { get; set; } }
    private sealed class LabelOut { public bool IsSick { get; set; } }
}
