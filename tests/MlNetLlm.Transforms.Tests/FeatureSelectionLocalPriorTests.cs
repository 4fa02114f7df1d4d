using Microsoft.ML;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Transforms.FeatureSelection;

namespace MlNetLlm.Transforms.Tests;

/// <summary>
/// The local language prior with the real bundled encoders (libtorch, MlNetLlm.Models): related column names must
/// outrank unrelated ones, and the scores travel in the model zip.
/// </summary>
public class FeatureSelectionLocalPriorTests
{
    /// <summary>Columns whose names are about the task (blood glucose, body mass) and ones that are not (a row id, the wall colour).</summary>
    private static IDataView Clinic(int n = 200)
    {
        var r = new Random(5);
        float[] Col(Func<int, double> f) => Enumerable.Range(0, n).Select(i => (float)f(i)).ToArray();
        var glucose = Col(_ => 100 + 30 * r.NextDouble());
        return new InMemoryDataViewBuilder(n)
            .AddFloat("blood_glucose_mg_dl", glucose)
            .AddFloat("body_mass_index", Col(_ => 20 + 15 * r.NextDouble()))
            .AddFloat("row_id", Col(i => i))
            .AddFloat("waiting_room_wall_paint_colour_code", Col(_ => r.Next(5)))
            .AddText("diabetes", glucose.Select(g => g + 20 * r.NextDouble() > 125 ? "yes" : "no").ToArray())
            .Build();
    }

    [Theory]
    [InlineData("arctic-xs")]
    [InlineData("minilm")]
    public void RelatedNamesOutrankUnrelatedOnes(string model)
    {
        var o = new LlmFeatureSelectionEstimator.Options
        {
            LabelColumnName = "diabetes",
            TaskDescription = "Predict whether a patient has type 2 diabetes from routine clinical measurements.",
            Mode = FeatureSelectionMode.Llm,
            LocalPrior = model,
            KeepCount = 2,
        };
        var t = new MLContext().Transforms.FeatureSelection.SelectFeaturesWithLlm(o).Fit(Clinic());
        Assert.Equal(FeatureSelectionMode.Llm, t.Report.Mode);
        Assert.Equal("local:" + model, t.Report.LlmModel);
        var score = t.Report.Features.ToDictionary(f => f.Name, f => f.LlmScore!.Value);
        Assert.Equal(1, score.Values.Max(), 9);
        Assert.Equal(0, score.Values.Min(), 9);
        Assert.True(score["blood_glucose_mg_dl"] > score["row_id"] && score["blood_glucose_mg_dl"] > score["waiting_room_wall_paint_colour_code"],
            string.Join(", ", score.Select(p => $"{p.Key} {p.Value:0.000}")));
        Assert.True(score["body_mass_index"] > score["row_id"] && score["body_mass_index"] > score["waiting_room_wall_paint_colour_code"],
            string.Join(", ", score.Select(p => $"{p.Key} {p.Value:0.000}")));
        Assert.Equal(["blood_glucose_mg_dl", "body_mass_index"], t.Report.KeptColumns.Order());
    }

    [Fact]
    public void BlendWithTheLocalPriorSavesItsScoresInTheZip()
    {
        using var dir = new TempFolder();
        var ml = new MLContext();
        var data = Clinic();
        var o = new LlmFeatureSelectionEstimator.Options
        {
            LabelColumnName = "diabetes",
            TaskDescription = "Predict whether a patient has type 2 diabetes from routine clinical measurements.",
            LocalPrior = "arctic-xs",
            KeepCount = 1,
            CrossValidationFolds = 3,
        };
        var t = ml.Transforms.FeatureSelection.SelectFeaturesWithLlm(o).Fit(data);
        Assert.Equal(FeatureSelectionMode.Blend, t.Report.Mode);
        Assert.Equal(["blood_glucose_mg_dl"], t.Report.KeptColumns); // the data and the prior agree
        string zip = Path.Combine(dir.Path, "model.zip");
        ml.Model.Save(t, data.Schema, zip);
        var back = (LlmFeatureSelectionTransformer)ml.Model.Load(zip, out _);
        Assert.Equal(t.Report.Features.Select(f => f.LlmScore), back.Report.Features.Select(f => f.LlmScore));
        Assert.Equal("local:arctic-xs", back.Report.LlmModel);
    }

    private sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("mlnetllm-fslocal-").FullName;
        public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
    }
}
