using Microsoft.Extensions.AI;
using Microsoft.ML;
using MlNetLlm.Transforms.FeatureSelection;

namespace MlNetLlm.Transforms.Tests;

/// <summary>
/// The local language prior through the embedding-generator interface, with a word-count encoder whose cosine
/// similarities are computed by hand here (the real bundled encoder is tested in MlNetLlm.Transforms.Tests EmbeddingTests and MlNetLlm.Models.Tests).
/// </summary>
public class LocalPriorTests
{
    /// <summary>Embeds a text as counts of a fixed vocabulary's words (lower case, letters only).</summary>
    private sealed class WordCountEncoder(params string[] vocabulary) : IEmbeddingGenerator<string, Embedding<float>>
    {
        public List<string> Seen { get; } = [];

        public float[] Embed(string text)
        {
            var words = text.ToLowerInvariant().Split([' ', ':', '.', ',', '(', ')', '\'', '_'], StringSplitOptions.RemoveEmptyEntries);
            return vocabulary.Select(v => (float)words.Count(w => w == v)).ToArray();
        }

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            var texts = values.ToList();
            Seen.AddRange(texts);
            return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(texts.Select(t => new Embedding<float>(Embed(t)))));
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;
        public void Dispose() { }
    }

    private static readonly string[] Vocabulary = ["blood", "pressure", "age", "sick", "patient", "smoker", "noise", "region", "years", "measurements"];

    private static LlmFeatureSelectionEstimator.Options Options(FeatureSelectionMode mode)
    {
        var o = Clinic.Options("", mode);
        o.TaskDescription = "Predict whether a patient is sick from blood pressure, age and whether the patient is a smoker.";
        o.ColumnDescriptions = new() { ["age"] = "age in years", ["noise_a"] = "noise" };
        return o;
    }

    [Fact]
    public void ScoresAreTheRescaledCosineOfNameAndDescriptionToTheTask()
    {
        var encoder = new WordCountEncoder(Vocabulary);
        var o = Options(FeatureSelectionMode.Llm);
        var t = new MLContext().Transforms.FeatureSelection.SelectFeaturesWithLlm(o, encoder).Fit(Clinic.Make().ToDataView());

        Assert.Equal(FeatureSelectionMode.Llm, t.Report.Mode);
        Assert.Equal(1, t.Report.LlmWeight);
        // The query names the task, the target and its kind; passages are the name (separators as spaces) and the description.
        Assert.StartsWith(o.TaskDescription + " Target: outcome (binary classification (classes 'sick' and 'well')).", encoder.Seen[0]);
        Assert.Contains("age: age in years", encoder.Seen);
        Assert.Contains("noise a: noise", encoder.Seen);
        var query = encoder.Embed(encoder.Seen[0]);
        double Cos(string passage)
        {
            var p = encoder.Embed(passage);
            double dot = query.Zip(p).Sum(z => z.First * z.Second), nq = Math.Sqrt(query.Sum(v => v * v)), np = Math.Sqrt(p.Sum(v => v * v));
            return np == 0 ? 0 : dot / (nq * np);
        }
        var passages = new Dictionary<string, string>
        {
            ["pressure"] = "pressure", ["age"] = "age: age in years", ["smoker"] = "smoker", ["noise_a"] = "noise a: noise",
            ["noise_b"] = "noise b", ["noise_c"] = "noise c", ["region"] = "region",
        };
        var cos = passages.ToDictionary(p => p.Key, p => Cos(p.Value));
        double min = cos.Values.Min(), max = cos.Values.Max();
        foreach (var f in t.Report.Features)
            Assert.Equal((cos[f.Name] - min) / (max - min), f.LlmScore!.Value, 9);
        Assert.Equal(["age", "pressure", "smoker"], t.Report.KeptColumns.Order());
        Assert.Contains(t.Report.Notes, n => n.Contains("not how predictive the column is"));
        Assert.StartsWith("cosine similarity", t.Report.Features.First().LlmReason);
    }

    [Fact]
    public void BlendWithTheLocalPriorIsCrossValidatedAndTravelsInTheZip()
    {
        using var tmp = new TempDir();
        var ml = new MLContext();
        var data = Clinic.Make().ToDataView();
        var t = ml.Transforms.FeatureSelection.SelectFeaturesWithLlm(Options(FeatureSelectionMode.Blend), new WordCountEncoder(Vocabulary)).Fit(data);
        Assert.Equal(FeatureSelectionMode.Blend, t.Report.Mode);
        var cv = t.Report.CrossValidation;
        Assert.True(cv.Single(c => c.Weight == t.Report.LlmWeight).MeanScore >= cv.Single(c => c.Weight == 0).MeanScore);
        string zip = tmp.File("model.zip");
        ml.Model.Save(t, data.Schema, zip);
        var back = (LlmFeatureSelectionTransformer)ml.Model.Load(zip, out _);
        Assert.Equal(t.Report.Features.Select(f => f.LlmScore), back.Report.Features.Select(f => f.LlmScore));
        Assert.Equal(t.Report.LlmModel, back.Report.LlmModel);
        Assert.Equal(LabelKind.Binary, back.Report.LabelKind);
        Assert.Equal("AUROC", back.Report.CrossValidationMetric);
    }

    [Fact]
    public void AllColumnsEquallySimilarGiveTheMiddleScore()
    {
        var t = new MLContext().Transforms.FeatureSelection.SelectFeaturesWithLlm(Options(FeatureSelectionMode.Llm), new WordCountEncoder("unrelated")).Fit(Clinic.Make().ToDataView());
        Assert.All(t.Report.Features, f => Assert.Equal(0.5, f.LlmScore));
    }
}
