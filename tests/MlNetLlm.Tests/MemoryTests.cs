using MlNetLlm.Modeling;
using TorchSharp;

namespace MlNetLlm.Tests;

/// <summary>Leaked native tensors are the classic TorchSharp failure: live tensor count must not grow with batches.</summary>
public class MemoryTests
{
    [Theory]
    [InlineData("tiny-bert")]
    [InlineData("tiny-roberta")]
    [InlineData("tiny-distilbert")]
    public void Forward_leaves_no_live_tensors_behind(string name)
    {
        using var model = PretrainedTransformer.Load(Fixtures.Checkpoint(name));
        var batch = model.Tokenize(["a short one", "a somewhat longer sentence for the padded batch", "x"]);
        using (model.Forward(batch)) { } // warm-up: lazily created tensors are not leaks

        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 200; i++)
            using (model.Forward(batch)) { }
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.Equal(before, after);
    }
}
