using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Transforms.FeatureSelection;

namespace MlNetLlm.Transforms.Tests;

/// <summary>The mutual-information evidence agrees with ML.NET's own mutual-information feature selection.</summary>
public class MutualInformationTests
{
    [Fact]
    public void TopColumnsMatchMlNetsMutualInformationSelection()
    {
        var c = Clinic.Make(2000, seed: 4);
        string[] numeric = ["pressure", "age", "noise_a", "noise_b", "noise_c"];
        var ml = new MLContext(1);
        var data = new InMemoryDataViewBuilder(c.Rows)
            .AddFloat("pressure", c.Pressure.Select(v => float.IsNaN(v) ? 120 : v).ToArray())
            .AddFloat("age", c.Age.Select(v => float.IsNaN(v) ? 50 : v).ToArray())
            .AddFloat("noise_a", c.NoiseA).AddFloat("noise_b", c.NoiseB).AddFloat("noise_c", c.NoiseC)
            .AddBool("Label", c.Label.Select(v => v == "sick").ToArray())
            .Build();

        var ours = ml.Transforms.FeatureSelection.SelectFeaturesWithLlm(new LlmFeatureSelectionEstimator.Options
        {
            LabelColumnName = "Label", Mode = FeatureSelectionMode.Data, DataEvidence = DataEvidenceKind.MutualInformation, KeepCount = 5, CacheDirectory = null,
        }).Fit(data).Report.Features.OrderBy(f => f.Rank).Select(f => f.Name).ToList();

        var concatenated = ml.Transforms.Concatenate("X", numeric).Fit(data).Transform(data);
        foreach (int k in new[] { 1, 2 })
        {
            var selected = ml.Transforms.FeatureSelection.SelectFeaturesBasedOnMutualInformation("Selected", "X", "Label", slotsInOutput: k, numberOfBins: 10)
                .Fit(concatenated).Transform(concatenated).Schema["Selected"];
            VBuffer<ReadOnlyMemory<char>> names = default;
            selected.GetSlotNames(ref names);
            Assert.Equal(ours.Take(k).Order(), names.DenseValues().Select(n => n.ToString()).Order());
        }
        Assert.Equal(["age", "pressure"], ours.Take(2).Order());
    }
}
