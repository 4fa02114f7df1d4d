using MlNetLlm.Transforms.FeatureSelection;
using MlNetLlm.Transforms.Tests;

namespace MlNetLlm.LlmClients.Tests;

/// <summary>A local prior named after a bundled model where the app has no MlNetLlm.Models package. It lives here
/// because this is the one test assembly that does not reference MlNetLlm.Models.</summary>
public class MissingModelsTests
{
    [Fact]
    public void A_bundled_name_without_the_models_assembly_says_what_is_missing()
    {
        Assert.DoesNotContain(AppDomain.CurrentDomain.GetAssemblies(), a => a.GetName().Name == "MlNetLlm.Models");
        var o = Clinic.Options("", FeatureSelectionMode.Blend);
        o.LocalPrior = "arctic-xs";
        var e = Assert.ThrowsAny<Exception>(() => new LlmFeatureSelectionEstimator(o).Fit(Clinic.Make().ToDataView()));
        Assert.Contains("arctic-xs", e.Message);
        Assert.Contains("MlNetLlm.Models", e.Message);
        Assert.False(File.Exists(Path.Combine(AppContext.BaseDirectory, "MlNetLlm.Models.dll")));
    }
}
