using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MlNetLlm.Tokenization;

/// <summary>What a .NET user of an original sentence-transformers ONNX export runs: the graph on padded batches in the
/// given order, then mean pooling over each row's real tokens in C#.</summary>
static class OriginalOnnxEmbedding
{
    public static void EmbedInto(InferenceSession session, IReadOnlyList<EncodedText> encoded, int[] order, int batch, int padId, float[][] vectors)
    {
        for (int s = 0; s < order.Length; s += batch)
        {
            var idx = order.Skip(s).Take(batch).ToArray();
            var tb = TokenBatch.Pad(idx.Select(i => encoded[i]).ToList(), padId);
            int[] dims = [tb.BatchSize, tb.SequenceLength];
            using var result = session.Run(new List<NamedOnnxValue>
            {
                NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(tb.InputIds, dims)),
                NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(tb.AttentionMask, dims)),
                NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(tb.TokenTypeIds, dims)),
            });
            var hidden = result.First().AsTensor<float>();
            int h = hidden.Dimensions[2];
            for (int r = 0; r < idx.Length; r++)
            {
                var v = new float[h];
                int n = encoded[idx[r]].Length;
                for (int t = 0; t < n; t++)
                    for (int d = 0; d < h; d++) v[d] += hidden[r, t, d];
                for (int d = 0; d < h; d++) v[d] /= n;
                vectors[idx[r]] = v;
            }
        }
    }
}
