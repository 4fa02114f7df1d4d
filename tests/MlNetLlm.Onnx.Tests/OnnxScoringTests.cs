using MlNetLlm.Modeling.Runtime;
using Microsoft.Extensions.AI;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.Estimators;
using MlNetLlm.Modeling.Export;
using MlNetLlm.Modeling.Training;
using MlNetLlm.Onnx;
using MlNetLlm.Transforms.Embeddings;

namespace MlNetLlm.Onnx.Tests;

/// <summary>
/// Trained models exported and scored by MlNetLlm.Onnx in ML.NET pipelines: the same columns and values as the
/// TorchSharp model (≤ 1e-4), saved in an ML.NET zip and scored in a fresh process that loads no TorchSharp or libtorch.
/// </summary>
public class OnnxScoringTests
{
    private static TextTrainerOptions TinyBert(string? second = null) => new()
    {
        Encoder = TextEncoderKind.Checkpoint, CheckpointPath = Fixtures.Checkpoint("tiny-bert"), SecondTextColumnName = second,
        Epochs = 1, BatchSize = 16, MaxLength = 32, PredictionBatchSize = 7,
        Precision = Precision.Fp32, // the exported graph computes in fp32; Auto would pick bf16 on a bf16 CPU
    };

    [Fact]
    public void Exported_classifier_scores_like_the_torchsharp_model_and_in_a_process_without_torch()
    {
        using var dir = new Fixtures.TempDir();
        var ml = new MLContext(seed: 1);
        var rows = TextData.Topics3(48, seed: 11);
        rows.AddRange(BundledModelFiles.OnnxTexts.Select((t, i) => new TextData.Row { Text = t, Label = i % 2 == 0 ? "food" : "tech" }));
        var data = ml.Data.LoadFromEnumerable(rows);
        var torchModel = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.TextClassifier(TinyBert())).Fit(data);
        string folder = dir.File("export");
        var result = ml.Model.ExportToOnnx(torchModel, folder);
        Assert.Equal(["config.json", "mlnetllm-onnx.json", "model.onnx", "tokenizer_config.json", "vocab.txt"], result.Files.Order(StringComparer.Ordinal));

        var keyed = torchModel.First().Transform(data); // the Label key, as the ONNX scorer's input has it too
        var onnx = ml.Transforms.Text.OnnxTextPrediction(folder).Fit(keyed);
        var expected = torchModel.Transform(data);
        var actual = onnx.Transform(keyed);
        Assert.True(BundledModelFiles.MaxAbsDiff(Scores(expected), Scores(actual)) <= 1e-4);
        Assert.Equal(expected.GetColumn<uint>("PredictedLabel"), actual.GetColumn<uint>("PredictedLabel"));
        Assert.Equal(ml.MulticlassClassification.Evaluate(expected).MicroAccuracy, ml.MulticlassClassification.Evaluate(actual).MicroAccuracy);
        VBuffer<ReadOnlyMemory<char>> expectedClasses = default, actualClasses = default;
        expected.Schema["PredictedLabel"].GetKeyValues(ref expectedClasses);
        actual.Schema["PredictedLabel"].GetKeyValues(ref actualClasses);
        Assert.Equal(3, actualClasses.Length);
        Assert.Equal(expectedClasses.DenseValues().Select(c => c.ToString()), actualClasses.DenseValues().Select(c => c.ToString()));

        // An ordinary ML.NET zip of the ONNX scorer (+ MapKeyToValue), scored by a fresh process with no TorchSharp.
        var pipeline = new TransformerChain<ITransformer>(onnx, ml.Transforms.Conversion.MapKeyToValue("PredictedLabelValue", "PredictedLabel").Fit(actual));
        string zip = dir.File("onnx-model.zip"), csv = dir.File("input.csv");
        ml.Model.Save(pipeline, keyed.Schema, zip);
        File.WriteAllLines(csv, ["Text,Label", .. rows.Select(r => "\"" + r.Text.Replace("\"", "\"\"") + "\"," + r.Label)]); // two columns: an empty text is no blank line
        var fresh = Program.ScoreInFreshProcess(zip, csv, withoutTorch: true);
        Assert.True(BundledModelFiles.MaxAbsDiff(Scores(expected), [.. fresh["Score"]]) <= 1e-4);
        onnx.Dispose();
    }

    [Fact]
    public void Exported_pair_classifier_and_word_vocabulary_regressor_score_like_torchsharp()
    {
        using var dir = new Fixtures.TempDir();
        var ml = new MLContext(seed: 1);
        var pairs = ml.Data.LoadFromEnumerable(TextData.SameTopicPairs(40, seed: 5));
        var binary = ml.BinaryClassification.Trainers.TextClassifier(TinyBert("Text2")).Fit(pairs);
        ml.Model.ExportToOnnx(binary, dir.File("binary"));
        using var onnxBinary = ml.Transforms.Text.OnnxTextPrediction(dir.File("binary")).Fit(pairs);
        Assert.Equal(["Text", "Text2"], onnxBinary.TextColumns);
        var (e, a) = (binary.Transform(pairs), onnxBinary.Transform(pairs));
        Assert.True(MaxDiff(e.GetColumn<float>("Probability"), a.GetColumn<float>("Probability")) <= 1e-4);
        Assert.Equal(e.GetColumn<bool>("PredictedLabel"), a.GetColumn<bool>("PredictedLabel"));

        // A transformer trained from scratch reads a word vocabulary (the "words" tokenizer), and regression maps back by mean and std.
        var counts = ml.Data.LoadFromEnumerable(TextData.CountGreat(60, seed: 6));
        var regressor = ml.Regression.Trainers.TextRegressor(new TextTrainerOptions
        {
            Encoder = TextEncoderKind.Transformer, TransformerHiddenSize = 16, TransformerHeads = 2, TransformerLayers = 1,
            MinWordCount = 1, Epochs = 1, BatchSize = 16, MaxLength = 24, Seed = 2, Precision = Precision.Fp32,
        }).Fit(counts);
        var exported = ml.Model.ExportToOnnx(regressor, dir.File("regressor"), new OnnxExportOptions { Quantization = OnnxQuantization.Int8 });
        Assert.Equal(OnnxQuantization.Int8, exported.Quantization);
        ml.Model.ExportToOnnx(regressor, dir.File("regressor-fp32"));
        using var onnxRegressor = ml.Transforms.Text.OnnxTextPrediction(dir.File("regressor-fp32")).Fit(counts);
        var expected = regressor.Transform(counts).GetColumn<float>("Score").ToArray();
        Assert.True(MaxDiff(expected, onnxRegressor.Transform(counts).GetColumn<float>("Score")) <= 1e-4 * Math.Max(1, expected.Max(Math.Abs)));
        Assert.True(expected.Max() - expected.Min() > 0.01, "the scores must vary for the comparison to mean something");
        using var int8 = ml.Transforms.Text.OnnxTextPrediction(dir.File("regressor")).Fit(counts);
        Assert.Equal("Int8", int8.Manifest.Quantization);
    }

    [Fact]
    public void Exported_embedding_transform_gives_the_same_vectors_as_onnx_transform_and_embedding_generator()
    {
        using var dir = new Fixtures.TempDir();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(BundledModelFiles.OnnxTexts.Select(t => new TextData.Row { Text = t }));
        using var torch = ml.Transforms.Text.TextEmbedding(new TextEmbeddingOptions
        {
            CheckpointPath = Fixtures.Checkpoint("tiny-roberta"), Pooling = Pooling.Cls, Normalize = true, MaxLength = 24, BatchSize = 5, Precision = Precision.Fp32,
        }).Fit(data);
        string zip = dir.File("embed.zip");
        ml.Model.Save(torch, data.Schema, zip);
        ml.Model.ExportToOnnx(zip, dir.File("export"));
        using var onnx = ml.Transforms.Text.OnnxTextEmbedding("Embedding", "Text", dir.File("export")).Fit(data);
        Assert.True(onnx.Normalize);
        var expected = torch.Embed(BundledModelFiles.OnnxTexts);
        Assert.True(BundledModelFiles.MaxAbsDiff(expected, onnx.Embed(BundledModelFiles.OnnxTexts)) <= 1e-4);
        Assert.True(BundledModelFiles.MaxAbsDiff(expected, [.. onnx.Transform(data).GetColumn<float[]>("Embedding")]) <= 1e-4);
        using IEmbeddingGenerator<string, Embedding<float>> generator = OnnxEmbeddingGenerator.FromFolder(dir.File("export"));
        var generated = generator.GenerateAsync(BundledModelFiles.OnnxTexts).GetAwaiter().GetResult();
        Assert.True(BundledModelFiles.MaxAbsDiff(expected, [.. generated.Select(g => g.Vector.ToArray())]) <= 1e-4);
        Assert.InRange(generated[0].Vector.ToArray().Sum(v => v * v), 0.9999, 1.0001);

        // Saved in an ML.NET zip with its settings (columns, normalisation) and scored by a process without TorchSharp.
        string onnxZip = dir.File("onnx-embed.zip"), csv = dir.File("texts.csv");
        ml.Model.Save(onnx, data.Schema, onnxZip);
        File.WriteAllLines(csv, ["Text,Label", .. BundledModelFiles.OnnxTexts.Select(t => "\"" + t.Replace("\"", "\"\"") + "\",x")]);
        var fresh = Program.ScoreInFreshProcess(onnxZip, csv, withoutTorch: true);
        Assert.True(BundledModelFiles.MaxAbsDiff(expected, [.. fresh["Embedding"]]) <= 1e-4);
    }

    [Fact]
    public void What_cannot_be_exported_or_scored_is_refused_by_name_before_anything_is_written()
    {
        using var dir = new Fixtures.TempDir();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(TextData.Topics3(30, seed: 3));
        var lstm = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.TextClassifier(new TextTrainerOptions
        {
            Encoder = TextEncoderKind.Lstm, Epochs = 1, LstmEmbeddingSize = 8, LstmHiddenSize = 8, MinWordCount = 1,
        })).Fit(data);
        var e = Assert.Throws<NotSupportedException>(() => ml.Model.ExportToOnnx(lstm, dir.File("lstm")));
        Assert.Contains("LSTM", e.Message);
        Assert.False(Directory.Exists(dir.File("lstm")));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path)); // no partial folder left behind either

        var tfidf = ml.Transforms.Text.FeaturizeText("Features", "Text").Fit(data);
        Assert.Contains("holds no MlNetLlm text model", Assert.Throws<ArgumentException>(() => ml.Model.ExportToOnnx(tfidf, dir.File("tfidf"))).Message);

        Directory.CreateDirectory(dir.File("busy"));
        File.WriteAllText(dir.File("busy/keep.txt"), "mine");
        Assert.Contains("not empty", Assert.Throws<ArgumentException>(() => OnnxExport.ExportCheckpoint(Fixtures.Checkpoint("tiny-bert"), dir.File("busy"))).Message);
        Assert.Equal(["keep.txt"], Directory.GetFiles(dir.File("busy")).Select(Path.GetFileName));

        OnnxExport.ExportCheckpoint(Fixtures.Checkpoint("tiny-bert"), dir.File("embedder"));
        Assert.Contains("OnnxTextPredictionOptions.ModelFolder", Assert.Throws<ArgumentException>(() => ml.Transforms.Text.OnnxTextPrediction(dir.File("embedder"))).Message);
        Assert.Contains("OnnxTextEmbeddingOptions.ModelFolder", Assert.Throws<ArgumentException>(() => ml.Transforms.Text.OnnxTextEmbedding("E", "Text", dir.File("busy"))).Message);
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.Text.OnnxTextEmbedding("E", "Review", dir.File("embedder")).Fit(data));
        Assert.Contains("'Review'", missing.Message);
    }

    private static float[][] Scores(IDataView scored) => [.. scored.GetColumn<float[]>("Score")];

    private static double MaxDiff(IEnumerable<float> a, IEnumerable<float> b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max();
}
