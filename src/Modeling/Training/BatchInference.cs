using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Tokenization;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Training;

/// <summary>Inference for every model of this project (classifiers, regressors, embedders): no gradients, eval mode,
/// length-sorted batches. Not part of training; the training loop uses it only to score its validation rows.</summary>
internal static class BatchInference
{
    /// <summary>
    /// Outputs of <paramref name="model"/> (logits, standardised values or pooled embeddings) for every input, in input
    /// order. Inputs are sorted by length so each batch pads little. <paramref name="precision"/> (resolved) is that of the
    /// encoder's products; outputs are fp32 either way (pooling and heads read fp32). <paramref name="weights"/>: the bf16
    /// weight copies of a model whose weights no longer change, kept across calls; null makes them for this call only.
    /// </summary>
    public static float[][] Predict(nn.Module<Architectures.EncoderInput, Tensor> model, bool usesTokenTypes, IReadOnlyList<EncodedText> inputs, int batchSize, int padId, Device device,
        Precision precision = Precision.Fp32, Autocast.WeightCache? weights = null)
    {
        var result = new float[inputs.Count][];
        if (inputs.Count == 0) return result;
        model.eval();
        using var noGrad = no_grad();
        using var autocast = Autocast.Enter(precision, weights); // weights do not change here: one bf16 copy each
        var order = Enumerable.Range(0, inputs.Count).OrderBy(i => inputs[i].Length).ToArray();
        for (int start = 0; start < order.Length; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var idx = order.Skip(start).Take(batchSize).ToArray();
            var batch = TokenBatch.Pad(idx.Select(i => inputs[i]).ToList(), padId);
            var output = Autocast.Float(model.forward(batch.ToEncoderInput(device, usesTokenTypes))).cpu();
            var flat = output.data<float>().ToArray();
            int k = (int)output.shape[1];
            for (int r = 0; r < idx.Length; r++)
                result[idx[r]] = flat.AsSpan(r * k, k).ToArray();
        }
        return result;
    }
}
