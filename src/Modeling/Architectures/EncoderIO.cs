using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Architectures;

/// <summary>A padded batch for an encoder: ids and mask are [batch, seq] int64; token types optional.</summary>
internal sealed record EncoderInput(Tensor InputIds, Tensor AttentionMask, Tensor? TokenTypeIds = null);

/// <summary>Encoder result: last hidden state [batch, seq, hidden] and, where the checkpoint has one, the pooler [batch, hidden].</summary>
public sealed class EncoderOutput(Tensor lastHiddenState, Tensor? poolerOutput) : IDisposable
{
    public Tensor LastHiddenState { get; } = lastHiddenState;
    public Tensor? PoolerOutput { get; } = poolerOutput;

    public void Dispose()
    {
        LastHiddenState.Dispose();
        PoolerOutput?.Dispose();
    }
}

/// <summary>Base of every encoder architecture: the checkpoint-named module tree plus its config.</summary>
internal abstract class TransformerEncoder : nn.Module<EncoderInput, EncoderOutput>
{
    protected TransformerEncoder(string name, Checkpoints.TransformerConfig config) : base(name) => Config = config;

    public Checkpoints.TransformerConfig Config { get; }

    /// <summary>True when the module has a pooler (dense + tanh over the first token).</summary>
    public abstract bool HasPooler { get; }
}

/// <summary>Attention pieces shared by every architecture.</summary>
internal static class AttentionOps
{
    /// <summary>
    /// Additive mask [batch, 1, 1, seq] from a 0/1 mask: 0 where attended, the dtype's most negative value where padded.
    /// Only keys are masked, as in Hugging Face, so padded query rows still hold finite values.
    /// </summary>
    public static Tensor AdditiveKeyMask(Tensor attentionMask, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var padded = attentionMask.eq(0).unsqueeze(1).unsqueeze(1);
        return TensorOps.FillMostNegative(zeros(padded.shape, dtype, attentionMask.device), padded, dtype).MoveToOuterDisposeScope();
    }

    /// <summary>[batch, seq, hidden] → [batch, heads, seq, head_dim].</summary>
    public static Tensor SplitHeads(Tensor x, int heads)
    {
        long b = x.shape[0], s = x.shape[1], h = x.shape[2];
        return x.view(b, s, heads, h / heads).transpose(1, 2);
    }

    /// <summary>[batch, heads, seq, head_dim] → [batch, seq, hidden].</summary>
    public static Tensor MergeHeads(Tensor x)
    {
        long b = x.shape[0], heads = x.shape[1], s = x.shape[2], d = x.shape[3];
        return x.transpose(1, 2).contiguous().view(b, s, heads * d);
    }

    /// <summary>Fused scaled-dot-product attention with an additive mask.</summary>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, int heads, Tensor additiveMask, double dropout)
    {
        using var scope = NewDisposeScope();
        var ctx = nn.functional.scaled_dot_product_attention(
            SplitHeads(q, heads), SplitHeads(k, heads), SplitHeads(v, heads), additiveMask, dropout);
        return MergeHeads(ctx).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Tensor sums for the hot paths. <c>a + b</c> in TorchSharp 0.107 is <c>add(b, alpha: 1)</c> with a fresh Scalar whose
/// only use is its handle: the GC may finalize it while libtorch still reads it (seen as "Expected false to be true ...
/// toFloat" under load, with many threads allocating). One Scalar held for the life of the process cannot be collected.
/// </summary>
internal static class TensorOps
{
    private static readonly TorchSharp.Scalar One = TorchSharp.ScalarExtensionMethods.ToScalar(1);

    // The most negative value of each floating dtype, for masks: held for the same reason as One.
    private static readonly TorchSharp.Scalar MostNegativeHalf = TorchSharp.ScalarExtensionMethods.ToScalar(-65504.0);
    private static readonly TorchSharp.Scalar MostNegativeBFloat16 = TorchSharp.ScalarExtensionMethods.ToScalar(-3.3895313892515355e38);
    private static readonly TorchSharp.Scalar MostNegativeDouble = TorchSharp.ScalarExtensionMethods.ToScalar(double.MinValue);
    private static readonly TorchSharp.Scalar MostNegativeFloat = TorchSharp.ScalarExtensionMethods.ToScalar(float.MinValue);

    /// <summary><paramref name="a"/> + <paramref name="b"/> (with type promotion: bf16 + fp32 is fp32).</summary>
    public static Tensor Add(Tensor a, Tensor b) => a.add(b, One);

    /// <summary><paramref name="t"/> / <paramref name="n"/>; the Scalar is disposed only after the quotient is made.</summary>
    public static Tensor DivideBy(Tensor t, int n)
    {
        using var divisor = TorchSharp.ScalarExtensionMethods.ToScalar(n);
        return t.div(divisor);
    }

    /// <summary><paramref name="t"/> with every value below 1 raised to 1 (a count used as a divisor).</summary>
    public static Tensor AtLeastOne(Tensor t) => t.clamp_min(One);

    /// <summary><paramref name="t"/> with the most negative value of <paramref name="dtype"/> where <paramref name="mask"/> is true.</summary>
    public static Tensor FillMostNegative(Tensor t, Tensor mask, ScalarType dtype) => t.masked_fill(mask, dtype switch
    {
        ScalarType.Float16 => MostNegativeHalf,
        ScalarType.BFloat16 => MostNegativeBFloat16,
        ScalarType.Float64 => MostNegativeDouble,
        _ => MostNegativeFloat,
    });
}
