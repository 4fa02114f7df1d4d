using MlNetLlm.Modeling.Architectures;
using TorchSharp.Modules;
using TransformerEncoder = MlNetLlm.Modeling.Architectures.TransformerEncoder;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Training;

#pragma warning disable IDE1006 // module field names are state-dict keys

/// <summary>How a transformer's token states become one vector per text.</summary>
public enum Pooling
{
    /// <summary>Mean over real (unpadded) tokens.</summary>
    Mean,
    /// <summary>The first token's state ([CLS] / &lt;s&gt;).</summary>
    Cls,
    /// <summary>Max over real tokens.</summary>
    Max,
    /// <summary>The checkpoint's pooler (dense + tanh over [CLS]); only where the checkpoint has one.</summary>
    Pooler,
}

/// <summary>An encoder that turns a padded batch into one vector per row.</summary>
internal abstract class PooledTextEncoder(string name) : nn.Module<EncoderInput, Tensor>(name)
{
    public abstract int OutputSize { get; }
    /// <summary>Whether the encoder reads token type ids.</summary>
    public abstract bool UsesTokenTypes { get; }

    /// <summary>Mask-aware mean/max/CLS pooling over [batch, seq, hidden].</summary>
    public static Tensor Pool(Tensor hidden, Tensor attentionMask, Pooling pooling)
    {
        using var scope = NewDisposeScope();
        var mask = attentionMask.unsqueeze(-1).to_type(hidden.dtype);
        Tensor result = pooling switch
        {
            Pooling.Cls => hidden.select(1, 0),
            Pooling.Max => TensorOps.FillMostNegative(hidden, mask.eq(0), ScalarType.Float32).max(1).values,
            _ => (hidden * mask).sum(1) / TensorOps.AtLeastOne(mask.sum(1)),
        };
        return result.MoveToOuterDisposeScope();
    }
}

/// <summary>A Hugging Face encoder (BERT, RoBERTa, XLM-R, DistilBERT, or one trained from scratch) with pooling.</summary>
internal sealed class TransformerTextEncoder : PooledTextEncoder
{
    private readonly TransformerEncoder encoder;
    private readonly Pooling _pooling;

    public TransformerTextEncoder(TransformerEncoder encoder, Pooling pooling) : base(nameof(TransformerTextEncoder))
    {
        if (pooling == Pooling.Pooler && !encoder.HasPooler)
            throw new ArgumentException("Pooling.Pooler needs a checkpoint with a pooler (pooler.dense.*); this one has none. Use Mean, Cls or Max.", nameof(pooling));
        this.encoder = encoder;
        _pooling = pooling;
        RegisterComponents();
    }

    public TransformerEncoder Encoder => encoder;
    public Pooling Pooling => _pooling;
    public override int OutputSize => encoder.Config.HiddenSize;
    public override bool UsesTokenTypes => encoder.Config.TypeVocabSize > 0;

    public override Tensor forward(EncoderInput input)
    {
        using var scope = NewDisposeScope();
        var output = encoder.forward(input);
        var pooled = _pooling == Pooling.Pooler ? output.PoolerOutput! : Pool(output.LastHiddenState, input.AttentionMask, _pooling);
        return pooled.MoveToOuterDisposeScope();
    }
}

/// <summary>Hyper-parameters of the LSTM encoder (saved with the model).</summary>
internal sealed record LstmConfig(int VocabSize, int EmbeddingDim, int HiddenSize, int Layers, bool Bidirectional, double Dropout, int PadTokenId);

/// <summary>The classic cheap encoder: word embeddings (optionally GloVe-initialised) → (Bi)LSTM → mean and max pooling.</summary>
internal sealed class LstmTextEncoder : PooledTextEncoder
{
    private readonly Embedding embeddings;
    private readonly LSTM lstm;
    private readonly Dropout dropout;

    public LstmTextEncoder(LstmConfig c) : base(nameof(LstmTextEncoder))
    {
        Config = c;
        embeddings = nn.Embedding(c.VocabSize, c.EmbeddingDim, padding_idx: c.PadTokenId);
        lstm = nn.LSTM(c.EmbeddingDim, c.HiddenSize, c.Layers, batchFirst: true, dropout: c.Layers > 1 ? c.Dropout : 0, bidirectional: c.Bidirectional);
        dropout = nn.Dropout(c.Dropout);
        RegisterComponents();
    }

    public LstmConfig Config { get; }

    /// <summary>Why the LSTM is not run in bf16, for the precision options' messages.</summary>
    public const string NoBf16 = "the LSTM encoder runs in fp32 only (TorchSharp's LSTM reads its weights from the module and has no functional form to hand bf16 copies of fp32 master weights to)";

    public override int OutputSize => 2 * Config.HiddenSize * (Config.Bidirectional ? 2 : 1);
    public override bool UsesTokenTypes => false;

    /// <summary>Copies pretrained vectors into the embedding rows given by <paramref name="rows"/> (row id → vector).</summary>
    public void InitializeEmbeddings(IReadOnlyDictionary<int, float[]> rows)
    {
        using var noGrad = no_grad();
        foreach (var (id, vector) in rows)
            embeddings.weight![id].copy_(tensor(vector));
    }

    public override Tensor forward(EncoderInput input)
    {
        using var scope = NewDisposeScope();
        var x = dropout.forward(embeddings.forward(input.InputIds));
        var (output, _, _) = lstm.forward(x);
        var pooled = cat([Pool(output, input.AttentionMask, Pooling.Mean), Pool(output, input.AttentionMask, Pooling.Max)], 1);
        return pooled.MoveToOuterDisposeScope();
    }
}

/// <summary>Encoder + dropout + linear head: the one model shape every task trains.</summary>
internal sealed class TextHeadModel : nn.Module<EncoderInput, Tensor>
{
    private readonly PooledTextEncoder body;
    private readonly Dropout dropout;
    private readonly Linear head;

    public TextHeadModel(PooledTextEncoder body, int outputs, double dropout = 0.1) : base(nameof(TextHeadModel))
    {
        this.body = body;
        this.dropout = nn.Dropout(dropout);
        head = nn.Linear(body.OutputSize, outputs);
        Outputs = outputs;
        RegisterComponents();
    }

    public PooledTextEncoder Body => body;
    public int Outputs { get; }

    /// <summary>Stops gradients into the encoder: only the head trains.</summary>
    public void FreezeBody()
    {
        foreach (var p in body.parameters()) p.requires_grad = false;
    }

    public override Tensor forward(EncoderInput input)
    {
        using var scope = NewDisposeScope();
        return head.forward(dropout.forward(body.forward(input))).MoveToOuterDisposeScope();
    }
}
