using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Architectures;

// BERT as in Hugging Face modeling_bert.py. Field names are the checkpoint key segments, so loading a
// state dict is a plain name match (embeddings.word_embeddings.weight, encoder.layer.0.attention.self.query.weight, ...).
#pragma warning disable IDE1006 // names mirror checkpoint keys

internal sealed class BertEmbeddings : nn.Module<Tensor, Tensor?, Tensor, Tensor>
{
    private readonly Embedding word_embeddings;
    private readonly Embedding position_embeddings;
    private readonly Embedding? token_type_embeddings;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;

    public BertEmbeddings(TransformerConfig c) : base(nameof(BertEmbeddings))
    {
        word_embeddings = nn.Embedding(c.VocabSize, c.HiddenSize, padding_idx: c.PadTokenId);
        position_embeddings = nn.Embedding(c.MaxPositionEmbeddings, c.HiddenSize);
        if (c.TypeVocabSize > 0)
            token_type_embeddings = nn.Embedding(c.TypeVocabSize, c.HiddenSize);
        LayerNorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
        dropout = nn.Dropout(c.HiddenDropout);
        RegisterComponents();
    }

    /// <param name="inputIds">[batch, seq] int64.</param>
    /// <param name="tokenTypeIds">[batch, seq] int64, or null for all zeros.</param>
    /// <param name="positionIds">[batch, seq] or [1, seq] int64.</param>
    public override Tensor forward(Tensor inputIds, Tensor? tokenTypeIds, Tensor positionIds)
    {
        using var scope = NewDisposeScope();
        var x = TensorOps.Add(word_embeddings.forward(inputIds), position_embeddings.forward(positionIds));
        if (token_type_embeddings is not null)
            x = TensorOps.Add(x, token_type_embeddings.forward(tokenTypeIds ?? zeros_like(inputIds)));
        return dropout.forward(LayerNorm.forward(x)).MoveToOuterDisposeScope();
    }
}

internal sealed class BertSelfAttention : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly int _heads;
    private readonly double _dropout;

    public BertSelfAttention(TransformerConfig c) : base(nameof(BertSelfAttention))
    {
        query = nn.Linear(c.HiddenSize, c.HiddenSize);
        key = nn.Linear(c.HiddenSize, c.HiddenSize);
        value = nn.Linear(c.HiddenSize, c.HiddenSize);
        _heads = c.NumHeads;
        _dropout = c.AttentionDropout;
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor additiveMask)
    {
        using var scope = NewDisposeScope();
        var (q, k, v) = Autocast.Linear3(query, key, value, hidden);
        return AttentionOps.Attend(q, k, v, _heads, additiveMask, training ? _dropout : 0.0).MoveToOuterDisposeScope();
    }
}

/// <summary>dense → dropout → LayerNorm(x + residual): BertSelfOutput and BertOutput share this shape.</summary>
internal sealed class BertResidualOutput : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;

    public BertResidualOutput(long inFeatures, TransformerConfig c) : base(nameof(BertResidualOutput))
    {
        dense = nn.Linear(inFeatures, c.HiddenSize);
        LayerNorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
        dropout = nn.Dropout(c.HiddenDropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor residual)
    {
        using var scope = NewDisposeScope();
        // A bf16 product plus the fp32 residual is fp32: the residual stream and the layer norm stay fp32.
        return LayerNorm.forward(TensorOps.Add(dropout.forward(Autocast.Linear(dense, x)), residual)).MoveToOuterDisposeScope();
    }
}

internal sealed class BertAttention : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly BertSelfAttention self;
    private readonly BertResidualOutput output;

    public BertAttention(TransformerConfig c) : base(nameof(BertAttention))
    {
        self = new BertSelfAttention(c);
        output = new BertResidualOutput(c.HiddenSize, c);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor additiveMask)
    {
        using var scope = NewDisposeScope();
        return output.forward(self.forward(hidden, additiveMask), hidden).MoveToOuterDisposeScope();
    }
}

internal sealed class BertIntermediate : nn.Module<Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly string _act;

    public BertIntermediate(TransformerConfig c) : base(nameof(BertIntermediate))
    {
        dense = nn.Linear(c.HiddenSize, c.IntermediateSize);
        _act = c.HiddenAct;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return Activations.Apply(_act, Autocast.Linear(dense, x)).MoveToOuterDisposeScope();
    }
}

internal sealed class BertLayer : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly BertAttention attention;
    private readonly BertIntermediate intermediate;
    private readonly BertResidualOutput output;

    public BertLayer(TransformerConfig c) : base(nameof(BertLayer))
    {
        attention = new BertAttention(c);
        intermediate = new BertIntermediate(c);
        output = new BertResidualOutput(c.IntermediateSize, c);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor additiveMask)
    {
        using var scope = NewDisposeScope();
        var attended = attention.forward(hidden, additiveMask);
        return output.forward(intermediate.forward(attended), attended).MoveToOuterDisposeScope();
    }
}

internal sealed class BertEncoder : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly ModuleList<BertLayer> layer;

    public BertEncoder(TransformerConfig c) : base(nameof(BertEncoder))
    {
        layer = nn.ModuleList(Enumerable.Range(0, c.NumLayers).Select(_ => new BertLayer(c)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor additiveMask)
    {
        using var scope = NewDisposeScope();
        var x = hidden;
        foreach (var l in layer)
            x = l.forward(x, additiveMask);
        return x.MoveToOuterDisposeScope();
    }
}

internal sealed class BertPooler : nn.Module<Tensor, Tensor>
{
    private readonly Linear dense;

    public BertPooler(TransformerConfig c) : base(nameof(BertPooler))
    {
        dense = nn.Linear(c.HiddenSize, c.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        return Autocast.Float(Autocast.Linear(dense, hidden.select(1, 0)).tanh()).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// BERT encoder (BertModel). Also the body of RoBERTa/XLM-R, which differ only in how position ids are made
/// (<see cref="RobertaModel"/>).
/// </summary>
internal class BertModel : TransformerEncoder
{
    private readonly BertEmbeddings embeddings;
    private readonly BertEncoder encoder;
    private readonly BertPooler? pooler;

    public BertModel(TransformerConfig config, bool withPooler = true) : this(nameof(BertModel), config, withPooler) { }

    protected BertModel(string name, TransformerConfig config, bool withPooler) : base(name, config)
    {
        embeddings = new BertEmbeddings(config);
        encoder = new BertEncoder(config);
        if (withPooler)
            pooler = new BertPooler(config);
        RegisterComponents();
    }

    public override bool HasPooler => pooler is not null;


    /// <summary>Absolute positions 0..seq-1 (BERT); RoBERTa overrides.</summary>
    protected virtual Tensor PositionIds(Tensor inputIds) =>
        arange(inputIds.shape[1], dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0);

    public override EncoderOutput forward(EncoderInput input)
    {
        using var scope = NewDisposeScope();
        var x = embeddings.forward(input.InputIds, input.TokenTypeIds, PositionIds(input.InputIds));
        var mask = AttentionOps.AdditiveKeyMask(input.AttentionMask, Autocast.MaskType(x.dtype));
        var last = encoder.forward(x, mask);
        var pooled = pooler?.forward(last);
        return new EncoderOutput(last.MoveToOuterDisposeScope(), pooled?.MoveToOuterDisposeScope());
    }
}
