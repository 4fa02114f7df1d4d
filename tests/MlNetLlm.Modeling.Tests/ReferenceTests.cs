using MlNetLlm.Modeling;
using MlNetLlm.Modeling.Architectures;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Tests;

/// <summary>
/// Tiny checkpoints written by tests/reference/make_fixtures.py (PyTorch, Hugging Face layout) must give PyTorch's
/// outputs for a padded batch: last hidden state and pooler within 1e-4.
/// </summary>
[Trait("Category", "Reference")]
public class ReferenceTests
{
    public const double Tolerance = 1e-4;

    public static TheoryData<string> Checkpoints =>
        ["tiny-bert", "tiny-bert-seqcls-fp16-sharded", "tiny-roberta", "tiny-xlmr", "tiny-distilbert"];

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void Encoder_matches_pytorch_on_a_padded_batch(string name)
    {
        string folder = Fixtures.Checkpoint(name);
        var reference = ReferenceOutputs.Load(folder);
        using var model = PretrainedTransformer.Load(folder);
        using var scope = NewDisposeScope();

        var input = new EncoderInput(
            Matrix(reference.InputIds), Matrix(reference.AttentionMask),
            reference.TokenTypeIds is null || model.Config.TypeVocabSize == 0 ? null : Matrix(reference.TokenTypeIds));
        using var noGrad = no_grad();
        var output = model.Encoder.forward(input);

        var expected = tensor(reference.LastHiddenState.SelectMany(r => r.SelectMany(c => c)).ToArray(), output.LastHiddenState.shape);
        double diff = (output.LastHiddenState - expected).abs().max().item<float>();
        Assert.True(diff <= Tolerance, $"{name}: last_hidden_state max abs diff {diff:E3} > {Tolerance:E0}");

        Assert.Equal(reference.PoolerOutput is not null, output.PoolerOutput is not null);
        if (reference.PoolerOutput is not null)
        {
            var pooled = tensor(reference.PoolerOutput.SelectMany(r => r).ToArray(), output.PoolerOutput!.shape);
            double pdiff = (output.PoolerOutput - pooled).abs().max().item<float>();
            Assert.True(pdiff <= Tolerance, $"{name}: pooler_output max abs diff {pdiff:E3}");
        }
    }

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void Tokenizer_reproduces_the_reference_ids(string name)
    {
        string folder = Fixtures.Checkpoint(name);
        var reference = ReferenceOutputs.Load(folder);
        Assert.NotNull(reference.ExpectedIds);
        using var model = PretrainedTransformer.Load(folder);
        for (int i = 0; i < reference.Texts.Length; i++)
        {
            var encoded = model.Tokenizer.Encode(reference.Texts[i], reference.TextPairs?[i]);
            Assert.Equal(reference.ExpectedIds![i], encoded.InputIds);
        }
    }

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void Tokenize_then_forward_end_to_end_matches(string name)
    {
        string folder = Fixtures.Checkpoint(name);
        var reference = ReferenceOutputs.Load(folder);
        using var model = PretrainedTransformer.Load(folder);
        var batch = model.Tokenize(reference.Texts, reference.TextPairs);
        Assert.Equal(reference.InputIds.SelectMany(r => r), batch.InputIds);
        using var output = model.Forward(batch);
        using var scope = NewDisposeScope();
        for (int row = 0; row < reference.Texts.Length; row++)
        {
            int len = reference.ExpectedIds![row].Length;
            var got = output.LastHiddenState[row, ..len];
            var want = tensor(reference.LastHiddenState[row].Take(len).SelectMany(c => c).ToArray(), got.shape);
            double diff = (got - want).abs().max().item<float>();
            Assert.True(diff <= Tolerance, $"{name} row {row}: max abs diff {diff:E3}");
        }
    }

    [Fact]
    public void Prefixes_and_heads_are_reported()
    {
        using var seqcls = PretrainedTransformer.Load(Fixtures.Checkpoint("tiny-bert-seqcls-fp16-sharded"));
        Assert.Equal("bert", seqcls.LoadReport.StrippedPrefix);
        Assert.Contains("classifier.weight", seqcls.LoadReport.IgnoredKeys);

        using var xlmr = PretrainedTransformer.Load(Fixtures.Checkpoint("tiny-xlmr"));
        Assert.Equal("roberta", xlmr.LoadReport.StrippedPrefix);
        Assert.False(xlmr.LoadReport.HasPooler);
        Assert.Contains(xlmr.LoadReport.IgnoredKeys, k => k.StartsWith("lm_head.", StringComparison.Ordinal));

        using var bert = PretrainedTransformer.Load(Fixtures.Checkpoint("tiny-bert"));
        Assert.Null(bert.LoadReport.StrippedPrefix);
        Assert.True(bert.LoadReport.HasPooler);
    }

    private static Tensor Matrix(long[][] rows) =>
        tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);
}
