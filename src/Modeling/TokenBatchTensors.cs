using MlNetLlm.Modeling.Architectures;
using MlNetLlm.Tokenization;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling;

/// <summary>Token batches as encoder tensors (the tokenizers themselves know no TorchSharp).</summary>
internal static class TokenBatchTensors
{
    /// <summary>Tensors on <paramref name="device"/>; the caller disposes them (a dispose scope does).</summary>
    public static EncoderInput ToEncoderInput(this TokenBatch batch, Device? device = null, bool withTokenTypes = true)
    {
        long[] shape = [batch.BatchSize, batch.SequenceLength];
        return new EncoderInput(
            tensor(batch.InputIds, shape, device: device),
            tensor(batch.AttentionMask, shape, device: device),
            withTokenTypes ? tensor(batch.TokenTypeIds, shape, device: device) : null);
    }
}
