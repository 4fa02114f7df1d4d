using System.Text.Json;
using MlNetLlm.Modeling.Architectures;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Pretraining;
using MlNetLlm.Modeling.Runtime;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Tests;

/// <summary>
/// The masked-LM model against PyTorch: tests/reference/make_mlm_fixture.py built tiny-bert-mlm (tiny-bert with a
/// BertForMaskedLM head in transformers' key layout), masked one batch BERT's way, and stored the loss, the
/// masked-token accuracy, the logits at the masked positions and the gradients of four tensors (the word embeddings'
/// includes the tied decoder's share). Same weights, same mask: the numbers must agree.
/// </summary>
[Trait("Category", "Reference")]
public class PretrainingReferenceTests
{
    private sealed record MlmReference(long[][] InputIds, long[][] AttentionMask, long[][] TokenTypeIds, long[][] Labels,
        double Loss, int Masked, int Correct, float[][] MaskedLogits, Dictionary<string, float[]> Gradients);

    private static MlmReference Reference(string folder) =>
        JsonSerializer.Deserialize<MlmReference>(File.ReadAllBytes(Path.Combine(folder, "mlm_reference.json")),
            new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })!;

    private static Tensor Matrix(long[][] rows) => tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);

    private static double MaxDiff(Tensor actual, float[] expected) =>
        (actual.reshape(-1) - tensor(expected)).abs().max().item<float>();

    [Fact]
    public void Loss_accuracy_logits_and_gradients_match_pytorch_for_the_same_weights_and_mask()
    {
        string folder = Fixtures.Checkpoint("tiny-bert-mlm");
        var r = Reference(folder);
        using var built = PretrainingModel.FromCheckpoint(folder, "tiny-bert-mlm");
        Assert.Contains("its masked-LM head", built.Description); // the stored head, not a fresh one
        var model = built.Model;
        model.eval(); // the reference has no dropout
        using var scope = NewDisposeScope();
        var input = new EncoderInput(Matrix(r.InputIds), Matrix(r.AttentionMask), Matrix(r.TokenTypeIds));
        var labels = Matrix(r.Labels);

        MaskedLmBatchResult result;
        using (Autocast.Enter(Precision.Fp32))
            result = model.forward(input, labels);
        Assert.Equal(r.Masked, result.Masked);
        Assert.Equal(r.Correct, result.Correct.item<long>());
        double loss = result.Loss.item<float>();
        Assert.True(Math.Abs(loss - r.Loss) <= 1e-5 * r.Loss, $"loss {loss:R} vs PyTorch {r.Loss:R}");

        result.Loss.backward();
        var parameters = model.Encoder.named_parameters().Select(p => ("bert." + p.name, p.parameter))
            .Concat(model.Head.named_parameters().Select(p => (model.Layout.HeadKeys[p.name], p.parameter)))
            .ToDictionary(p => p.Item1, p => p.parameter);
        foreach (var (key, expected) in r.Gradients)
        {
            double scale = expected.Max(v => Math.Abs((double)v));
            double diff = MaxDiff(parameters[key].grad!, expected);
            Assert.True(diff <= 1e-4 * scale, $"gradient of {key}: max abs diff {diff:E2} (largest value {scale:E2})");
        }

        using (no_grad())
        {
            var hidden = model.Encoder.forward(input).LastHiddenState;
            var positions = labels.reshape(-1).ne(MaskedLanguageModel.IgnoreLabel).nonzero().squeeze(1);
            var states = hidden.reshape(-1, hidden.shape[^1]).index_select(0, positions);
            var logits = model.Head.forward(states, parameters["bert.embeddings.word_embeddings.weight"]);
            double diff = MaxDiff(logits, r.MaskedLogits.SelectMany(x => x).ToArray());
            Assert.True(diff <= 1e-5, $"masked logits: max abs diff {diff:E2}");
        }
    }

    /// <summary>bf16 products (fp32 weights, layer norms and loss) stay close to PyTorch's fp32 loss on the same batch:
    /// the accuracy cost of the faster precision, measured beside it.</summary>
    [Fact]
    public void Bf16_loss_stays_within_a_percent_of_pytorchs_fp32_loss()
    {
        string folder = Fixtures.Checkpoint("tiny-bert-mlm");
        var r = Reference(folder);
        using var built = PretrainingModel.FromCheckpoint(folder, "tiny-bert-mlm");
        built.Model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var bf16 = Autocast.Enter(Precision.Bf16);
        var result = built.Model.forward(new EncoderInput(Matrix(r.InputIds), Matrix(r.AttentionMask), Matrix(r.TokenTypeIds)), Matrix(r.Labels));
        double loss = result.Loss.item<float>();
        Assert.Equal(ScalarType.Float32, result.Loss.dtype);
        Assert.True(Math.Abs(loss - r.Loss) <= 0.01 * r.Loss, $"bf16 loss {loss:R} vs PyTorch fp32 {r.Loss:R}");
        Assert.NotEqual(r.Loss, loss, 7); // the products really ran in bf16
    }

    [Fact]
    public void The_folder_pretraining_writes_has_the_keys_and_shapes_of_the_pytorch_bert_for_masked_lm()
    {
        using var dir = new Fixtures.TempDir();
        string output = dir.File("mlm");
        MaskedLmTrainer.Train(new MaskedLmOptions
        {
            CheckpointPath = Fixtures.Checkpoint("tiny-bert"), OutputFolder = output, Steps = 1, BatchSize = 4, MaxLength = 16, Precision = Precision.Fp32,
        }, PretrainingTests.Texts(8));

        static SortedDictionary<string, string> Layout(string folder)
        {
            using var file = SafeTensorsFile.Open(Path.Combine(folder, CheckpointFiles.SingleFile));
            return new(file.Tensors.ToDictionary(kv => kv.Key, kv => $"{kv.Value.DType} [{string.Join(", ", kv.Value.Shape)}]"), StringComparer.Ordinal);
        }
        Assert.Equal(Layout(Fixtures.Checkpoint("tiny-bert-mlm")), Layout(output));
    }

    /// <summary>Each family's masked-LM head under transformers' names (RobertaForMaskedLM's lm_head.*, XLMRobertaForMaskedLM
    /// the same, DistilBertForMaskedLM's vocab_*); tiny-xlmr already has an lm_head, which is continued rather than replaced.</summary>
    [Theory]
    [InlineData("tiny-roberta", "RobertaForMaskedLM", "roberta.", "lm_head.dense.weight|lm_head.layer_norm.weight|lm_head.bias", false)]
    [InlineData("tiny-xlmr", "XLMRobertaForMaskedLM", "roberta.", "lm_head.dense.weight|lm_head.layer_norm.bias|lm_head.bias", true)]
    [InlineData("tiny-distilbert", "DistilBertForMaskedLM", "distilbert.", "vocab_transform.weight|vocab_layer_norm.weight|vocab_projector.bias", false)]
    public void Other_families_write_their_own_masked_lm_layout(string checkpoint, string architecture, string prefix, string headKeys, bool headInCheckpoint)
    {
        using var dir = new Fixtures.TempDir();
        string output = dir.File("mlm");
        var result = MaskedLmTrainer.Train(new MaskedLmOptions
        {
            CheckpointPath = Fixtures.Checkpoint(checkpoint), OutputFolder = output, Steps = 1, BatchSize = 4, MaxLength = 16, Precision = Precision.Fp32,
        }, PretrainingTests.Texts(8));
        Assert.Contains(headInCheckpoint ? "its masked-LM head" : "a new masked-LM head", result.Model);
        using (var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(output, "config.json"))))
            Assert.Equal(architecture, config.RootElement.GetProperty("architectures")[0].GetString());
        using var file = SafeTensorsFile.Open(Path.Combine(output, CheckpointFiles.SingleFile));
        foreach (var key in headKeys.Split('|')) Assert.Contains(key, file.Tensors.Keys);
        Assert.All(file.Tensors.Keys.Where(k => !headKeys.Split('|').Any(h => k.StartsWith(h.Split('.')[0], StringComparison.Ordinal))),
            k => Assert.StartsWith(prefix, k));
        Assert.DoesNotContain(file.Tensors.Keys, k => k.Contains("decoder") || k == "vocab_projector.weight"); // tied to the word embeddings
        using var loaded = Modeling.PretrainedTransformer.Load(output);
        Assert.Equal(prefix.TrimEnd('.'), loaded.LoadReport.StrippedPrefix);
    }
}
