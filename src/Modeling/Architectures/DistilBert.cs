using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Architectures;

// DistilBERT as in Hugging Face modeling_distilbert.py; field names are its checkpoint key segments
// (embeddings.*, transformer.layer.N.attention.q_lin, sa_layer_norm, ffn.lin1, output_layer_norm).
#pragma warning disable IDE1006

internal sealed class DistilBertEmbeddings : nn.Module<Tensor, Tensor>
{
    private readonly Embedding word_embeddings;
    private readonly Embedding position_embeddings;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;

    public DistilBertEmbeddings(TransformerConfig c) : base(nameof(DistilBertEmbeddings))
    {
        word_embeddings = nn.Embedding(c.VocabSize, c.HiddenSize, padding_idx: c.PadTokenId);
        // With sinusoidal_pos_embds the table is fixed sinusoids, but checkpoints still store it as this weight.
        position_embeddings = nn.Embedding(c.MaxPositionEmbeddings, c.HiddenSize);
        LayerNorm = nn.LayerNorm(c.HiddenSize, 1e-12);
        dropout = nn.Dropout(c.HiddenDropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var positions = arange(inputIds.shape[1], dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0);
        var x = TensorOps.Add(word_embeddings.forward(inputIds), position_embeddings.forward(positions));
        return dropout.forward(LayerNorm.forward(x)).MoveToOuterDisposeScope();
    }
}

internal sealed class DistilBertAttention : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear q_lin;
    private readonly Linear k_lin;
    private readonly Linear v_lin;
    private readonly Linear out_lin;
    private readonly int _heads;
    private readonly double _dropout;

    public DistilBertAttention(TransformerConfig c) : base(nameof(DistilBertAttention))
    {
        q_lin = nn.Linear(c.HiddenSize, c.HiddenSize);
        k_lin = nn.Linear(c.HiddenSize, c.HiddenSize);
        v_lin = nn.Linear(c.HiddenSize, c.HiddenSize);
        out_lin = nn.Linear(c.HiddenSize, c.HiddenSize);
        _heads = c.NumHeads;
        _dropout = c.AttentionDropout;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor additiveMask)
    {
        using var scope = NewDisposeScope();
        var (q, k, v) = Autocast.Linear3(q_lin, k_lin, v_lin, x);
        var ctx = AttentionOps.Attend(q, k, v, _heads, additiveMask, training ? _dropout : 0.0);
        return Autocast.Linear(out_lin, ctx).MoveToOuterDisposeScope();
    }
}

internal sealed class DistilBertFfn : nn.Module<Tensor, Tensor>
{
    private readonly Linear lin1;
    private readonly Linear lin2;
    private readonly Dropout dropout;
    private readonly string _act;

    public DistilBertFfn(TransformerConfig c) : base(nameof(DistilBertFfn))
    {
        lin1 = nn.Linear(c.HiddenSize, c.IntermediateSize);
        lin2 = nn.Linear(c.IntermediateSize, c.HiddenSize);
        dropout = nn.Dropout(c.HiddenDropout);
        _act = c.HiddenAct;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return dropout.forward(Autocast.Linear(lin2, Activations.Apply(_act, Autocast.Linear(lin1, x)))).MoveToOuterDisposeScope();
    }
}

internal sealed class DistilBertBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly DistilBertAttention attention;
    private readonly LayerNorm sa_layer_norm;
    private readonly DistilBertFfn ffn;
    private readonly LayerNorm output_layer_norm;

    public DistilBertBlock(TransformerConfig c) : base(nameof(DistilBertBlock))
    {
        attention = new DistilBertAttention(c);
        sa_layer_norm = nn.LayerNorm(c.HiddenSize, 1e-12);
        ffn = new DistilBertFfn(c);
        output_layer_norm = nn.LayerNorm(c.HiddenSize, 1e-12);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor additiveMask)
    {
        using var scope = NewDisposeScope();
        var h = sa_layer_norm.forward(TensorOps.Add(attention.forward(x, additiveMask), x));
        return output_layer_norm.forward(TensorOps.Add(ffn.forward(h), h)).MoveToOuterDisposeScope();
    }
}

internal sealed class DistilBertTransformer : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly ModuleList<DistilBertBlock> layer;

    public DistilBertTransformer(TransformerConfig c) : base(nameof(DistilBertTransformer))
    {
        layer = nn.ModuleList(Enumerable.Range(0, c.NumLayers).Select(_ => new DistilBertBlock(c)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor additiveMask)
    {
        using var scope = NewDisposeScope();
        foreach (var l in layer)
            x = l.forward(x, additiveMask);
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>DistilBERT encoder (DistilBertModel): no token types, no pooler.</summary>
internal sealed class DistilBertModel : TransformerEncoder
{
    private readonly DistilBertEmbeddings embeddings;
    private readonly DistilBertTransformer transformer;

    public DistilBertModel(TransformerConfig config) : base(nameof(DistilBertModel), config)
    {
        embeddings = new DistilBertEmbeddings(config);
        transformer = new DistilBertTransformer(config);
        RegisterComponents();
    }

    public override bool HasPooler => false;


    public override EncoderOutput forward(EncoderInput input)
    {
        using var scope = NewDisposeScope();
        var x = embeddings.forward(input.InputIds);
        var mask = AttentionOps.AdditiveKeyMask(input.AttentionMask, Autocast.MaskType(x.dtype));
        return new EncoderOutput(transformer.forward(x, mask).MoveToOuterDisposeScope(), null);
    }
}
