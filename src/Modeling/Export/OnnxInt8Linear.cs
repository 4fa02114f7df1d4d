using static MlNetLlm.Modeling.Export.OnnxGraphBuilder;

namespace MlNetLlm.Modeling.Export;

/// <summary>How an int8 graph writes its quantized MatMuls (measured against each other in the bench).</summary>
internal enum OnnxInt8Layout
{
    /// <summary>Standard ONNX: DynamicQuantizeLinear → MatMulInteger → Cast → Mul(scales) → Add(bias); per-column weight scales.
    /// ONNX Runtime fuses the chain into its int8 kernel.</summary>
    MatMulIntegerPerChannel,
    /// <summary>The same with one scale for the whole weight.</summary>
    MatMulIntegerPerTensor,
    /// <summary>ONNX Runtime's contrib op com.microsoft.DynamicQuantizeMatMul (one node, bias included); per-column scales.</summary>
    DynamicQuantizeMatMulPerChannel,
}

/// <summary>Which of an encoder layer's Linears an int8 graph quantizes (measured against each other in the bench).</summary>
internal enum OnnxInt8Scope
{
    /// <summary>All six: query, key, value, attention output, FFN input, FFN output.</summary>
    AllLinears,
    /// <summary>All but the FFN output (its input, the activation after GELU, has the widest range).</summary>
    AllButFfnOutput,
    /// <summary>Query, key, value and attention output only.</summary>
    AttentionOnly,
}

/// <summary>
/// Dynamic quantization of a Linear: the weight is stored as symmetric int8 (zero point 0, scale = max|w| / 127 per output
/// column or per tensor); the activations are quantized to uint8 at run time, batch by batch. Accumulation is int32,
/// the result is rescaled to float and the fp32 bias added.
/// </summary>
internal sealed class OnnxInt8Linear(OnnxGraphBuilder g, OnnxInt8Layout layout, OnnxInt8Scope scope)
{
    /// <summary>Whether the Linear at <paramref name="prefix"/> (an encoder layer's, by its state-dict key) is quantized.</summary>
    public bool Quantizes(string prefix)
    {
        bool ffnOut = prefix.EndsWith(".output.dense.", StringComparison.Ordinal) && !prefix.EndsWith(".attention.output.dense.", StringComparison.Ordinal)
                      || prefix.EndsWith(".ffn.lin2.", StringComparison.Ordinal);
        bool ffnIn = prefix.EndsWith(".intermediate.dense.", StringComparison.Ordinal) || prefix.EndsWith(".ffn.lin1.", StringComparison.Ordinal);
        return scope switch
        {
            OnnxInt8Scope.AllButFfnOutput => !ffnOut,
            OnnxInt8Scope.AttentionOnly => !ffnOut && !ffnIn,
            _ => true,
        };
    }

    public string Linear(string x, string prefix, ExportWeights weights, string bias, string? output)
    {
        float[] w = weights.Transposed(prefix + "weight", out long inFeatures, out long outFeatures);
        bool perChannel = layout != OnnxInt8Layout.MatMulIntegerPerTensor;
        var (q, scales) = Quantize(w, (int)inFeatures, (int)outFeatures, perChannel);
        string wq = g.Int8s(prefix + "weight.T.int8", q, inFeatures, outFeatures);
        string ws = perChannel ? g.Floats(prefix + "weight.T.scale", scales, outFeatures) : g.Floats(prefix + "weight.T.scale", scales);
        if (layout == OnnxInt8Layout.DynamicQuantizeMatMulPerChannel)
        {
            // Inputs: A, B, b_scale, b_zero_point (none: symmetric), bias.
            return g.Node("DynamicQuantizeMatMul", [x, wq, ws, "", bias], output, MicrosoftDomain);
        }
        string[] xq = g.Nodes("DynamicQuantizeLinear", [x], [prefix + "x.uint8", prefix + "x.scale", prefix + "x.zero_point"]);
        string product = g.Node("MatMulInteger", [xq[0], wq, xq[2]]);
        string scale = g.Node("Mul", [xq[1], ws]);
        string y = g.Node("Mul", [g.Node("Cast", [product], attributes: Attr("to", (long)Onnx.TensorProto.Types.DataType.Float)), scale]);
        return g.Node("Add", [y, bias], output);
    }

    /// <summary>Symmetric int8 of a [in, out] weight: per output column (or one scale), values in [-127, 127].</summary>
    internal static (sbyte[] Values, float[] Scales) Quantize(float[] w, int inFeatures, int outFeatures, bool perChannel)
    {
        var max = new float[perChannel ? outFeatures : 1];
        for (int i = 0; i < inFeatures; i++)
            for (int o = 0; o < outFeatures; o++)
            {
                int s = perChannel ? o : 0;
                max[s] = Math.Max(max[s], Math.Abs(w[i * outFeatures + o]));
            }
        var scales = max.Select(m => m > 0 ? m / 127f : 1f).ToArray();
        var q = new sbyte[w.Length];
        for (int i = 0; i < inFeatures; i++)
            for (int o = 0; o < outFeatures; o++)
            {
                float v = w[i * outFeatures + o] / scales[perChannel ? o : 0];
                q[i * outFeatures + o] = (sbyte)Math.Clamp(MathF.Round(v, MidpointRounding.ToEven), -127f, 127f);
            }
        return (q, scales);
    }
}
