using MlNetLlm.Modeling.Checkpoints;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Architectures;

/// <summary>
/// RoBERTa and XLM-R (Hugging Face modeling_roberta.py / modeling_xlm_roberta.py): BERT's module tree, but
/// position ids count only real tokens and start at padding_idx + 1; padded positions get padding_idx.
/// </summary>
internal sealed class RobertaModel : BertModel
{
    public RobertaModel(TransformerConfig config, bool withPooler = true) : base(nameof(RobertaModel), config, withPooler) { }

    protected override Tensor PositionIds(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var notPad = inputIds.ne(Config.PadTokenId).to_type(ScalarType.Int64);
        return (notPad.cumsum(1) * notPad + Config.PadTokenId).MoveToOuterDisposeScope();
    }
}
