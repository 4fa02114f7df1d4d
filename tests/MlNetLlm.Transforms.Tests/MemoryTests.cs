using MlNetLlm.Modeling;
using TorchSharp;

namespace MlNetLlm.Transforms.Tests;

/// <summary>Leaked native tensors are the classic TorchSharp failure: live tensor count must not grow with batches.</summary>
public class MemoryTests
{
    [Theory]
    [InlineData("tiny-bert", MlNetLlm.Modeling.Runtime.Precision.Fp32)]
    [InlineData("tiny-roberta", MlNetLlm.Modeling.Runtime.Precision.Fp32)]
    [InlineData("tiny-distilbert", MlNetLlm.Modeling.Runtime.Precision.Fp32)]
    [InlineData("tiny-bert", MlNetLlm.Modeling.Runtime.Precision.Bf16)] // bf16 weight copies are freed with their scope
    [InlineData("tiny-distilbert", MlNetLlm.Modeling.Runtime.Precision.Bf16)]
    public void Forward_leaves_no_live_tensors_behind(string name, MlNetLlm.Modeling.Runtime.Precision precision)
    {
        using var model = PretrainedTransformer.Load(Fixtures.Checkpoint(name));
        var batch = model.Tokenize(["a short one", "a somewhat longer sentence for the padded batch", "x"]);
        using (model.Forward(batch, precision)) { } // warm-up: lazily created tensors are not leaks

        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 200; i++)
            using (model.Forward(batch, precision)) { }
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.Equal(before, after);
    }
}

public class Bf16WeightCacheTests
{
    [Fact]
    public void A_frozen_model_casts_its_weights_to_bf16_once_and_its_scoring_leaves_no_tensors_behind()
    {
        using var embedder = MlNetLlm.Transforms.Embeddings.TextEmbeddingEstimator.Create(new MlNetLlm.Transforms.Embeddings.TextEmbeddingOptions
        {
            CheckpointPath = Fixtures.Checkpoint("tiny-bert"), BatchSize = 2, Precision = MlNetLlm.Modeling.Runtime.Precision.Bf16,
        });
        string[] texts = ["a short one", "a somewhat longer sentence for the padded batch", "x", "and one more"];
        var first = embedder.Embed(texts); // makes the copies, kept for the transformer's life
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 50; i++)
            Assert.Equal(first, embedder.Embed(texts));
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
