using MlNetLlm.Modeling.Architectures;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Pretraining;

#pragma warning disable IDE1006 // names mirror checkpoint keys

/// <summary>
/// The masked-language-model head every Hugging Face encoder family shares in substance: dense → activation →
/// LayerNorm, then a decoder whose weight IS the input word embedding matrix (tied) plus a bias of vocabulary size.
/// Its keys are named per family by <see cref="MaskedLmLayout"/> (BertForMaskedLM's cls.predictions.*, RoBERTa's
/// lm_head.*, DistilBERT's vocab_*).
/// </summary>
internal sealed class MaskedLmHead : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly LayerNorm layer_norm;
    private readonly Parameter bias;
    private readonly string _act;

    public MaskedLmHead(int hiddenSize, int vocabSize, double layerNormEps, string activation) : base(nameof(MaskedLmHead))
    {
        dense = nn.Linear(hiddenSize, hiddenSize);
        layer_norm = nn.LayerNorm(hiddenSize, layerNormEps);
        bias = nn.Parameter(zeros(vocabSize));
        _act = activation;
        RegisterComponents();
        ResetLikeBert();
    }

    /// <summary>A fresh head as Hugging Face initialises one (initializer_range 0.02): dense N(0, 0.02) with zero bias,
    /// LayerNorm 1 / 0, decoder bias 0. The bundled encoders have no head, so continued pretraining starts here.</summary>
    public void ResetLikeBert(double std = 0.02)
    {
        using var noGrad = no_grad();
        dense.weight!.normal_(0, std);
        dense.bias!.zero_();
        layer_norm.weight!.fill_(1);
        layer_norm.bias!.zero_();
        bias.zero_();
    }

    /// <param name="hidden">[tokens, hidden] states of the masked positions (fp32).</param>
    /// <param name="wordEmbeddings">[vocab, hidden]: the encoder's input embedding matrix (the tied decoder weight).</param>
    /// <returns>[tokens, vocab] fp32 logits.</returns>
    public override Tensor forward(Tensor hidden, Tensor wordEmbeddings)
    {
        using var scope = NewDisposeScope();
        var x = layer_norm.forward(Autocast.Float(Activations.Apply(_act, Autocast.Linear(dense, hidden))));
        // The decoder is the largest product of a pretraining step: in bf16 it runs on bf16 copies, as torch.autocast
        // would run it, but the bias is added in fp32 after the product so the logits the loss reads keep fp32 offsets.
        var decoded = Autocast.ComputeType is { } t
            ? nn.functional.linear(Autocast.Input(x), wordEmbeddings.to_type(t))
            : nn.functional.linear(x, wordEmbeddings);
        return TensorOps.Add(Autocast.Float(decoded), bias).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// How an encoder family's masked-LM model names its keys in a save_pretrained folder: the encoder under its task
/// prefix (bert., roberta., distilbert.) and the head's five tensors under the family's names. The decoder weight (and
/// decoder bias) are tied to the word embeddings (and the head bias), so, as save_pretrained does, they are not stored.
/// </summary>
internal sealed record MaskedLmLayout(string Architecture, string EncoderPrefix, IReadOnlyDictionary<string, string> HeadKeys, IReadOnlyList<string> TiedKeys, string Activation)
{
    /// <summary>The layout of <paramref name="config"/>'s family.</summary>
    public static MaskedLmLayout For(TransformerConfig config) => config.Family switch
    {
        EncoderFamily.Bert => new("BertForMaskedLM", "bert", Map("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm", "cls.predictions.bias"),
            ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias"], config.HiddenAct),
        // RobertaLMHead applies gelu whatever hidden_act says.
        EncoderFamily.Roberta => new(config.ModelType switch { "xlm-roberta" => "XLMRobertaForMaskedLM", "camembert" => "CamembertForMaskedLM", _ => "RobertaForMaskedLM" },
            config.TaskPrefix, Map("lm_head.dense", "lm_head.layer_norm", "lm_head.bias"), ["lm_head.decoder.weight", "lm_head.decoder.bias"], "gelu"),
        EncoderFamily.DistilBert => new("DistilBertForMaskedLM", "distilbert", Map("vocab_transform", "vocab_layer_norm", "vocab_projector.bias"),
            ["vocab_projector.weight"], config.HiddenAct),
        _ => throw new NotSupportedException(config.Family.ToString()),
    };

    private static Dictionary<string, string> Map(string dense, string layerNorm, string bias) => new(StringComparer.Ordinal)
    {
        ["dense.weight"] = dense + ".weight", ["dense.bias"] = dense + ".bias",
        ["layer_norm.weight"] = layerNorm + ".weight", ["layer_norm.bias"] = layerNorm + ".bias",
        ["bias"] = bias,
    };

    /// <summary>The checkpoint key of a head key, and the legacy gamma/beta spelling early BERT checkpoints used.</summary>
    public IEnumerable<string> Spellings(string headKey)
    {
        string key = HeadKeys[headKey];
        yield return key;
        if (key.EndsWith(".weight", StringComparison.Ordinal) && headKey.StartsWith("layer_norm", StringComparison.Ordinal)) yield return key[..^7] + ".gamma";
        if (key.EndsWith(".bias", StringComparison.Ordinal) && headKey.StartsWith("layer_norm", StringComparison.Ordinal)) yield return key[..^5] + ".beta";
    }
}
