using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.Estimators;
using MlNetLlm.Modeling.Pretraining;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.Estimators.Tests;

/// <summary>Pretraining through the ML.NET catalog, then fine-tuning the folder it wrote in an ML.NET pipeline.</summary>
public class PretrainingCatalogTests
{
    [Fact]
    public void The_catalog_pretrains_on_a_data_view_column_and_the_folder_fine_tunes_as_a_checkpoint()
    {
        using var dir = new Fixtures.TempDir();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(TextData.SameTopicPairs(48, seed: 6));
        string output = dir.File("mlm");
        var result = ml.Transforms.Text.PretrainMaskedLanguageModel(data, new MaskedLmOptions
        {
            CheckpointPath = Fixtures.Checkpoint("tiny-bert"), OutputFolder = output, Steps = 3, BatchSize = 16, MaxLength = 32, Precision = Precision.Fp32,
        }, ["Text", "Text2"]);
        Assert.Equal(3, result.Steps);
        Assert.True(result.Sequences >= 96, $"{result.Sequences} sequences from 2 x 48 texts"); // both columns read (long texts make several)

        var model = ml.BinaryClassification.Trainers.TextClassifier(new TextTrainerOptions
        {
            Encoder = TextEncoderKind.Checkpoint, CheckpointPath = output, SecondTextColumnName = "Text2", Epochs = 1, BatchSize = 16, MaxLength = 32,
        }).Fit(data);
        var predicted = model.Transform(data).GetColumn<bool>("PredictedLabel").ToArray();
        Assert.Equal(48, predicted.Length);
    }

    [Fact]
    public void A_missing_or_non_text_column_is_named_before_anything_is_written()
    {
        using var dir = new Fixtures.TempDir();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(TextData.CountGreat(10, seed: 1));
        string output = dir.File("mlm");
        var options = new MaskedLmOptions { CheckpointPath = Fixtures.Checkpoint("tiny-bert"), OutputFolder = output, Steps = 1 };
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.Text.PretrainMaskedLanguageModel(data, options, ["Body"]));
        Assert.Contains("Text column 'Body' is not in the data", missing.Message);
        var number = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.Text.PretrainMaskedLanguageModel(data, options, ["Label"]));
        Assert.Contains("Text column 'Label' must be of type String", number.Message);
        Assert.False(Directory.Exists(output));
    }
}
