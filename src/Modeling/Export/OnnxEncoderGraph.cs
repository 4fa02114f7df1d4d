using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Training;
using Onnx;
using static MlNetLlm.Modeling.Export.OnnxGraphBuilder;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MlNetLlm.Modeling.Export;

/// <summary>What goes into one exported graph: the encoder's config and weights, the pooling, and an optional linear head.</summary>
internal sealed record EncoderGraphPlan(TransformerConfig Config, ExportWeights Weights, string EncoderPrefix, Pooling Pooling, string? HeadPrefix,
    OnnxInt8Layout? Int8, OnnxInt8Scope Int8Scope = OnnxInt8Scope.AllLinears);

/// <summary>
/// The ONNX graph of the project's encoders, written from the same module tree and weights the TorchSharp model runs
/// (modeling_bert.py's order of operations): BERT and MiniLM, RoBERTa / XLM-R (position ids counted over real tokens
/// from padding_idx + 1) and DistilBERT, then mask-aware pooling and, for a classifier or regressor, the linear head.
/// Inputs input_ids, attention_mask (and token_type_ids where the encoder has token types), int64 [batch, sequence];
/// output <see cref="LogitsOutput"/> [batch, outputs] or <see cref="EmbeddingOutput"/> [batch, hidden].
/// </summary>
internal sealed class OnnxEncoderGraph
{
    public const string InputIds = "input_ids", AttentionMask = "attention_mask", TokenTypeIds = "token_type_ids";
    public const string LogitsOutput = "logits", EmbeddingOutput = "embedding";

    private readonly OnnxGraphBuilder g = new("mlnetllm_text_encoder");
    private readonly EncoderGraphPlan _plan;
    private readonly TransformerConfig c;
    private readonly OnnxInt8Linear? _int8;

    private OnnxEncoderGraph(EncoderGraphPlan plan)
    {
        _plan = plan;
        c = plan.Config;
        _int8 = plan.Int8 is { } layout ? new OnnxInt8Linear(g, layout, plan.Int8Scope) : null;
    }

    public static bool UsesTokenTypes(TransformerConfig config) => config.TypeVocabSize > 0;

    public static ModelProto Build(EncoderGraphPlan plan, string producerVersion, IReadOnlyDictionary<string, string> metadata)
    {
        var graph = new OnnxEncoderGraph(plan);
        graph.Write();
        return graph.g.ToModel(producerVersion, metadata);
    }

    private void Write()
    {
        g.Input(InputIds, DataType.Int64, "batch", "sequence");
        g.Input(AttentionMask, DataType.Int64, "batch", "sequence");
        if (UsesTokenTypes(c)) g.Input(TokenTypeIds, DataType.Int64, "batch", "sequence");

        bool distil = c.Family == EncoderFamily.DistilBert;
        string x = Embeddings(distil);
        // Additive key mask [batch, 1, 1, seq]: 0 where attended, float.MinValue where padded (AttentionOps.AdditiveKeyMask).
        string padded = g.Node("Equal", [AttentionMask, g.Int64Scalar(0)]);
        string mask = g.Node("Unsqueeze", [g.Node("Where", [padded, g.Scalar(float.MinValue), g.Scalar(0f)]), g.Int64Vector(1, 2)]);
        for (int i = 0; i < c.NumLayers; i++)
            x = distil ? DistilBertLayer(x, mask, $"transformer.layer.{i}.") : BertLayer(x, mask, $"encoder.layer.{i}.");

        string pooled = Pool(x);
        if (_plan.HeadPrefix is { } head)
        {
            string logits = Linear(pooled, head, quantize: false, output: LogitsOutput);
            g.Output(logits, DataType.Float, "batch", _plan.Weights[head + "weight"].Shape[0].ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            g.Node("Identity", [pooled], EmbeddingOutput);
            g.Output(EmbeddingOutput, DataType.Float, "batch", c.HiddenSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private string W(string key) => _plan.EncoderPrefix + key;

    private string Param(string key)
    {
        var (data, shape) = _plan.Weights[key];
        return g.Floats(key, data, shape);
    }

    private string Embeddings(bool distil)
    {
        string words = g.Node("Gather", [Param(W("embeddings.word_embeddings.weight")), InputIds]);
        string positions;
        if (c.Family == EncoderFamily.Roberta)
        {
            // RobertaModel.PositionIds: cumulative count of real tokens, offset by padding_idx; padding keeps padding_idx.
            string real = g.Node("Cast", [g.Node("Not", [g.Node("Equal", [InputIds, g.Int64Scalar(c.PadTokenId)])])], attributes: Attr("to", (long)DataType.Int64));
            string count = g.Node("CumSum", [real, g.Int64Scalar(1)]);
            string ids = g.Node("Add", [g.Node("Mul", [count, real]), g.Int64Scalar(c.PadTokenId)]);
            positions = g.Node("Gather", [Param(W("embeddings.position_embeddings.weight")), ids]);
        }
        else
        {
            // Absolute positions 0..seq-1: the first seq rows of the table, broadcast over the batch.
            string seq = g.Node("Shape", [InputIds], attributes: [Attr("start", 1L), Attr("end", 2L)]);
            positions = g.Node("Slice", [Param(W("embeddings.position_embeddings.weight")), g.Int64Vector(0), seq, g.Int64Vector(0)]);
        }
        string x = g.Node("Add", [words, positions]);
        if (!distil && UsesTokenTypes(c))
            x = g.Node("Add", [x, g.Node("Gather", [Param(W("embeddings.token_type_embeddings.weight")), TokenTypeIds])]);
        return LayerNorm(x, W("embeddings.LayerNorm."), distil ? 1e-12 : c.LayerNormEps);
    }

    private string BertLayer(string x, string mask, string p)
    {
        string ctx = Attention(x, mask, W(p + "attention.self.query."), W(p + "attention.self.key."), W(p + "attention.self.value."));
        string attended = LayerNorm(g.Node("Add", [Linear(ctx, W(p + "attention.output.dense.")), x]), W(p + "attention.output.LayerNorm."), c.LayerNormEps);
        string inner = Activation(Linear(attended, W(p + "intermediate.dense.")));
        return LayerNorm(g.Node("Add", [Linear(inner, W(p + "output.dense.")), attended]), W(p + "output.LayerNorm."), c.LayerNormEps);
    }

    private string DistilBertLayer(string x, string mask, string p)
    {
        string ctx = Attention(x, mask, W(p + "attention.q_lin."), W(p + "attention.k_lin."), W(p + "attention.v_lin."));
        string h = LayerNorm(g.Node("Add", [Linear(ctx, W(p + "attention.out_lin.")), x]), W(p + "sa_layer_norm."), 1e-12);
        string ffn = Linear(Activation(Linear(h, W(p + "ffn.lin1."))), W(p + "ffn.lin2."));
        return LayerNorm(g.Node("Add", [ffn, h]), W(p + "output_layer_norm."), 1e-12);
    }

    /// <summary>Scaled dot-product attention over heads (AttentionOps.Attend), merged back to [batch, seq, hidden].</summary>
    private string Attention(string x, string mask, string query, string key, string value)
    {
        string split = g.Int64Vector(0, 0, c.NumHeads, c.HeadDim);
        string Heads(string linear, long[] perm) => g.Node("Transpose", [g.Node("Reshape", [Linear(x, linear), split])], attributes: Attr("perm", perm));
        string q = Heads(query, [0, 2, 1, 3]), kT = Heads(key, [0, 2, 3, 1]), v = Heads(value, [0, 2, 1, 3]);
        string scores = g.Node("Add", [g.Node("Mul", [g.Node("MatMul", [q, kT]), g.Scalar((float)(1.0 / Math.Sqrt(c.HeadDim)))]), mask]);
        string probs = g.Node("Softmax", [scores], attributes: Attr("axis", -1L));
        string ctx = g.Node("Transpose", [g.Node("MatMul", [probs, v])], attributes: Attr("perm", new long[] { 0, 2, 1, 3 }));
        return g.Node("Reshape", [ctx, g.Int64Vector(0, 0, c.HiddenSize)]);
    }

    /// <summary>x · Wᵀ + b for the Linear whose state-dict keys start with <paramref name="prefix"/> (weight [out, in], bias [out]).</summary>
    private string Linear(string x, string prefix, bool quantize = true, string? output = null)
    {
        string bias = Param(prefix + "bias");
        if (quantize && _int8 is not null && _int8.Quantizes(prefix))
            return _int8.Linear(x, prefix, _plan.Weights, bias, output);
        float[] t = _plan.Weights.Transposed(prefix + "weight", out long inFeatures, out long outFeatures);
        string weight = g.Floats(prefix + "weight.T", t, inFeatures, outFeatures);
        return g.Node("Add", [g.Node("MatMul", [x, weight]), bias], output);
    }

    private string LayerNorm(string x, string prefix, double eps) =>
        g.Node("LayerNormalization", [x, Param(prefix + "weight"), Param(prefix + "bias")], attributes: [Attr("axis", -1L), Attr("epsilon", (float)eps)]);

    private string Activation(string x)
    {
        switch (c.HiddenAct)
        {
            case "gelu": // exact: 0.5·x·(1 + erf(x/√2)), the order torch.onnx.export writes (ONNX Runtime fuses it into Gelu)
                return g.Node("Mul", [g.Node("Mul", [x, g.Node("Add", [g.Node("Erf", [g.Node("Div", [x, g.Scalar(MathF.Sqrt(2f))])]), g.Scalar(1f)])]), g.Scalar(0.5f)]);
            case "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast": // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
            {
                string cube = g.Node("Mul", [g.Node("Pow", [x, g.Scalar(3f)]), g.Scalar(0.044715f)]);
                string inner = g.Node("Mul", [g.Node("Add", [x, cube]), g.Scalar(MathF.Sqrt(2f / MathF.PI))]);
                return g.Node("Mul", [g.Node("Mul", [x, g.Node("Add", [g.Node("Tanh", [inner]), g.Scalar(1f)])]), g.Scalar(0.5f)]);
            }
            case "relu":
                return g.Node("Relu", [x]);
            case "silu" or "swish":
                return g.Node("Mul", [x, g.Node("Sigmoid", [x])]);
            default:
                throw new NotSupportedException($"Activation \"{c.HiddenAct}\" has no ONNX export.");
        }
    }

    /// <summary>PooledTextEncoder.Pool: mean or max over real tokens, the first token, or the checkpoint's pooler.</summary>
    private string Pool(string hidden)
    {
        string First() => g.Node("Gather", [hidden, g.Int64Scalar(0)], attributes: Attr("axis", 1L));
        switch (_plan.Pooling)
        {
            case Pooling.Cls:
                return First();
            case Pooling.Pooler:
                return g.Node("Tanh", [Linear(First(), W("pooler.dense."), quantize: false)]);
            case Pooling.Max:
            {
                string padded = g.Node("Equal", [g.Node("Unsqueeze", [AttentionMask, g.Int64Vector(-1)]), g.Int64Scalar(0)]);
                string masked = g.Node("Where", [padded, g.Scalar(float.MinValue), hidden]);
                return g.Node("ReduceMax", [masked], attributes: [Attr("axes", new long[] { 1 }), Attr("keepdims", 0L)]);
            }
            default:
            {
                string m = g.Node("Unsqueeze", [g.Node("Cast", [AttentionMask], attributes: Attr("to", (long)DataType.Float)), g.Int64Vector(-1)]);
                string sum = g.Node("ReduceSum", [g.Node("Mul", [hidden, m]), g.Int64Vector(1)], attributes: Attr("keepdims", 0L));
                string count = g.Node("Max", [g.Node("ReduceSum", [m, g.Int64Vector(1)], attributes: Attr("keepdims", 0L)), g.Scalar(1f)]);
                return g.Node("Div", [sum, count]);
            }
        }
    }
}
