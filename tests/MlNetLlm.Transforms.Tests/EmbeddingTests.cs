using MlNetLlm.Tokenization;
using Microsoft.Extensions.AI;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.Estimators;
using MlNetLlm.Modeling;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Training;
using MlNetLlm.Transforms.Embeddings;
using static TorchSharp.torch;

namespace MlNetLlm.Transforms.Tests;

/// <summary>Text embeddings as an ML.NET transform and as an IEmbeddingGenerator.</summary>
public class EmbeddingTests
{
    private sealed class TextRow
    {
        public string Text { get; set; } = "";
    }

    private static readonly string[] Texts =
    [
        "hello world", "the quick brown fox jumps over the lazy dog again and again", "", "Привет, мир! 你好 🌍🎉",
        "tokenizer", "a", "Héllo World! The dog runs.",
    ];

    private static TextEmbeddingTransformer Embedder(string checkpoint = "tiny-bert", Pooling pooling = Pooling.Mean, bool normalize = false, int batchSize = 3, int maxLength = 64,
        MlNetLlm.Modeling.Runtime.Precision precision = MlNetLlm.Modeling.Runtime.Precision.Auto) =>
        TextEmbeddingEstimator.Create(new TextEmbeddingOptions
        {
            CheckpointPath = Fixtures.Checkpoint(checkpoint), Pooling = pooling, Normalize = normalize, BatchSize = batchSize, MaxLength = maxLength, Precision = precision,
        });

    [Fact]
    public void Mean_pooled_vectors_match_the_encoder_row_by_row_in_original_order()
    {
        // fp32 against the fp32 encoder (bf16 against fp32: PrecisionTests).
        using var embedder = Embedder(batchSize: 3, precision: MlNetLlm.Modeling.Runtime.Precision.Fp32);
        var vectors = embedder.Embed(Texts);
        using var model = PretrainedTransformer.Load(Fixtures.Checkpoint("tiny-bert"));
        for (int i = 0; i < Texts.Length; i++)
        {
            // One text alone: no padding at all, the reference for mask-aware mean pooling.
            var batch = model.Tokenize([Texts[i]], maxLength: 64);
            using var output = model.Forward(batch);
            var expected = output.LastHiddenState.mean([1]).squeeze(0).data<float>().ToArray();
            Assert.Equal(expected.Length, vectors[i].Length);
            for (int d = 0; d < expected.Length; d++)
                Assert.True(Math.Abs(expected[d] - vectors[i][d]) < 1e-4, $"text {i} dim {d}: {expected[d]} vs {vectors[i][d]}");
        }
    }

    [Fact]
    public void Empty_non_latin_emoji_and_overlong_texts_give_finite_vectors()
    {
        using var embedder = Embedder(maxLength: 16);
        string overlong = string.Join(' ', Enumerable.Repeat("the quick brown fox", 500));
        var v = embedder.Embed([.. Texts, overlong]);
        Assert.All(v, row => Assert.All(row, x => Assert.True(float.IsFinite(x))));
        // Truncation: the overlong text embeds like its first 14 word pieces.
        string first14 = string.Join(' ', Enumerable.Repeat("the quick brown fox", 4).SelectMany(s => s.Split(' ')).Take(14));
        var truncated = embedder.Embed([first14])[0];
        Assert.Equal(truncated, v[^1], new Tolerance(1e-5f));
    }

    [Fact]
    public void Normalize_and_pooling_choices()
    {
        using var normalized = Embedder(normalize: true);
        Assert.All(normalized.Embed(Texts), row => Assert.Equal(1.0, Math.Sqrt(row.Sum(x => (double)x * x)), 4));
        using var cls = Embedder(pooling: Pooling.Cls);
        using var max = Embedder(pooling: Pooling.Max);
        using var pooler = Embedder(pooling: Pooling.Pooler);
        Assert.NotEqual(cls.Embed(["hello world"])[0], max.Embed(["hello world"])[0]);
        Assert.Equal(32, pooler.Dimension);
        // tiny-xlmr is a masked-LM checkpoint without a pooler.
        var ex = Assert.Throws<ArgumentException>(() => Embedder("tiny-xlmr", Pooling.Pooler));
        Assert.Contains("pooler", ex.Message);
    }

    [Fact]
    public void Checkpoint_without_tokenizer_is_reported()
    {
        var ex = Assert.Throws<CheckpointException>(() => TextEmbeddingEstimator.Create(new TextEmbeddingOptions { CheckpointPath = Fixtures.Broken("no-tokenizer") }));
        Assert.Contains("vocab.txt", ex.Message);
    }

    [Fact]
    public void Output_schema_has_vector_size_and_slot_names_and_wrong_input_type_is_named()
    {
        var ml = new MLContext();
        var data = ml.Data.LoadFromEnumerable(Texts.Select(t => new TextRow { Text = t }));
        var transformer = ml.Transforms.Text.TextEmbedding("Embedding", "Text", Fixtures.Checkpoint("tiny-distilbert")).Fit(data);
        var column = transformer.GetOutputSchema(data.Schema)["Embedding"];
        Assert.Equal(32, ((VectorDataViewType)column.Type).Size);
        VBuffer<ReadOnlyMemory<char>> slots = default;
        column.GetSlotNames(ref slots);
        Assert.Equal("dim0", slots.GetValues()[0].ToString());

        var numbers = ml.Data.LoadFromEnumerable(new[] { new { Text = 1f } });
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.Text.TextEmbedding("Embedding", "Text", Fixtures.Checkpoint("tiny-bert")).Fit(numbers));
        Assert.Contains("'Text'", ex.Message);
    }

    [Fact]
    public void Embedding_then_trainers_fit_save_and_load_in_a_fresh_process_with_identical_vectors()
    {
        using var dir = new Fixtures.TempDir();
        var ml = new MLContext(seed: 1);
        var rows = TextData.Topics3(90, seed: 31);
        var data = ml.Data.LoadFromEnumerable(rows);
        var pipeline = ml.Transforms.Text.TextEmbedding("Embedding", "Text", Fixtures.Checkpoint("tiny-roberta"), normalize: true)
            .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
            .Append(ml.Transforms.CopyColumns("Features", "Embedding"))
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy());
        var model = pipeline.Fit(data);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(data));
        // Three balanced topics (majority class 1/3): even a tiny random encoder's vectors separate them on the training rows.
        Assert.True(metrics.MicroAccuracy > 0.6, $"SDCA on embeddings: {metrics.MicroAccuracy:F3}");

        var lgbm = ml.Transforms.Text.TextEmbedding("Features", "Text", Fixtures.Checkpoint("tiny-bert"))
            .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
            .Append(ml.MulticlassClassification.Trainers.LightGbm(new Microsoft.ML.Trainers.LightGbm.LightGbmMulticlassTrainer.Options { NumberOfIterations = 5, MinimumExampleCountPerLeaf = 2 }))
            .Fit(data);
        double lgbmAccuracy = ml.MulticlassClassification.Evaluate(lgbm.Transform(data)).MicroAccuracy;
        Assert.True(lgbmAccuracy > 0.5, $"LightGbm on embeddings: {lgbmAccuracy:F3}");

        string zip = dir.File("embedding-model.zip");
        ml.Model.Save(model, data.Schema, zip);
        var before = TestProcesses.ScoredColumns(model.Transform(data));
        string csv = dir.File("input.csv");
        File.WriteAllLines(csv, ["Text,Label", .. rows.Select(r => $"\"{r.Text}\",{r.Label}")]);
        var fresh = Program.ScoreInFreshProcess(zip, csv);
        Assert.Equal(before["Embedding"], fresh["Embedding"]);
        Assert.Equal(before["Score"], fresh["Score"]);
    }

    [Fact]
    public async Task Embedding_generator_works_through_the_abstraction_only()
    {
        IEmbeddingGenerator<string, Embedding<float>> generator = TransformerEmbeddingGenerator.FromCheckpoint(Fixtures.Checkpoint("tiny-bert"));
        using (generator)
        {
            var embeddings = await generator.GenerateAsync(["a cat sat on the mat", "a cat sat on a mat", "quantum chromodynamics"]);
            Assert.Equal(3, embeddings.Count);
            Assert.All(embeddings, e => Assert.Equal(32, e.Vector.Length));
            float Dot(int a, int b) => embeddings[a].Vector.Span.ToArray().Zip(embeddings[b].Vector.Span.ToArray(), (x, y) => x * y).Sum();
            Assert.Equal(1f, Dot(0, 0), 3); // normalised by default
            var metadata = generator.GetService<EmbeddingGeneratorMetadata>();
            Assert.Equal(32, metadata!.DefaultModelDimensions);
        }
    }

    [Fact]
    public void Embeddings_from_a_trained_classifier_use_its_encoder()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(TextData.Topics3(60, seed: 32));
        var classifier = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.TextClassifier(new TextTrainerOptions { Encoder = TextEncoderKind.Lstm, Epochs = 1, MinWordCount = 1, LstmHiddenSize = 16, LstmEmbeddingSize = 16 }))
            .Fit(data).LastTransformer;
        var embedder = ml.Transforms.Text.TextEmbedding(classifier).Fit(data);
        Assert.Equal(2 * 2 * 16, embedder.Dimension); // mean + max of a BiLSTM with 16 units
        var v = embedder.Embed(["pizza and cheese"])[0];
        Assert.All(v, x => Assert.True(float.IsFinite(x)));
    }

    private sealed class Tolerance(float tol) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tol;
        public int GetHashCode(float obj) => 0;
    }
}
