using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Tokenization;
using TorchSharp.Modules;
using TransformerEncoder = MlNetLlm.Modeling.Architectures.TransformerEncoder;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Pretraining;

#pragma warning disable IDE1006 // module field names

/// <summary>The loss of one batch and how many masked tokens the model got right (argmax = original token).</summary>
internal sealed record MaskedLmBatchResult(Tensor Loss, Tensor Correct, long Masked);

/// <summary>
/// An encoder with its masked-language-model head (Hugging Face's BertForMaskedLM, RobertaForMaskedLM,
/// DistilBertForMaskedLM): the loss is the cross-entropy of the original tokens at the masked positions, averaged
/// over those positions, as transformers computes it with labels of -100 elsewhere. Only the masked positions go
/// through the head and the vocabulary-sized decoder (the loss is the same; the decoder is the largest product).
/// </summary>
internal sealed class MaskedLanguageModel : nn.Module<Architectures.EncoderInput, Tensor, MaskedLmBatchResult>
{
    /// <summary>The label of a position that is not predicted (transformers' ignore_index).</summary>
    public const long IgnoreLabel = -100;

    private const string WordEmbeddingsKey = "embeddings.word_embeddings.weight";

    private readonly TransformerEncoder encoder;
    private readonly MaskedLmHead head;

    public MaskedLanguageModel(TransformerEncoder encoder, MaskedLmHead head) : base(nameof(MaskedLanguageModel))
    {
        this.encoder = encoder;
        this.head = head;
        Layout = MaskedLmLayout.For(encoder.Config);
        RegisterComponents();
    }

    public TransformerEncoder Encoder => encoder;
    public MaskedLmHead Head => head;
    public TransformerConfig Config => encoder.Config;
    public MaskedLmLayout Layout { get; }

    /// <summary>A fresh head for <paramref name="encoder"/> (initialised as Hugging Face does), decoder tied to its embeddings.</summary>
    public static MaskedLanguageModel WithNewHead(TransformerEncoder encoder) =>
        new(encoder, new MaskedLmHead(encoder.Config.HiddenSize, encoder.Config.VocabSize, encoder.Config.LayerNormEps, MaskedLmLayout.For(encoder.Config).Activation));

    /// <summary>The parameters masked-LM training updates: all but the pooler, which the loss does not reach.</summary>
    public IEnumerable<Parameter> TrainableParameters() =>
        encoder.named_parameters().Where(p => !p.name.StartsWith("pooler.", StringComparison.Ordinal)).Select(p => p.parameter)
            .Concat(head.parameters());

    /// <param name="input">The masked batch.</param>
    /// <param name="labels">[batch, seq] int64: the original token where masked, <see cref="IgnoreLabel"/> elsewhere.</param>
    public override MaskedLmBatchResult forward(Architectures.EncoderInput input, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var output = encoder.forward(input);
        var hidden = output.LastHiddenState;
        var flat = labels.reshape(-1);
        var positions = flat.ne(IgnoreLabel).nonzero().squeeze(1);
        long masked = positions.shape[0];
        if (masked == 0) throw new ArgumentException("The batch has no masked position: there is nothing to predict.", nameof(labels));
        var states = hidden.reshape(-1, hidden.shape[^1]).index_select(0, positions);
        var targets = flat.index_select(0, positions);
        var logits = head.forward(states, WordEmbeddings());
        var loss = nn.functional.cross_entropy(logits, targets);
        var correct = logits.argmax(1).eq(targets).sum();
        return new MaskedLmBatchResult(loss.MoveToOuterDisposeScope(), correct.MoveToOuterDisposeScope(), masked);
    }

    // Looked up at each call: moving the module to another device replaces its parameter objects.
    private Tensor WordEmbeddings() =>
        encoder.named_parameters().First(p => p.name == WordEmbeddingsKey).parameter;

    /// <summary>The model's tensors under the names save_pretrained gives them (tied decoder left out).</summary>
    public Dictionary<string, Tensor> CheckpointTensors()
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (k, v) in encoder.state_dict()) result[Layout.EncoderPrefix + "." + k] = v;
        foreach (var (k, v) in head.state_dict()) result[Layout.HeadKeys[k]] = v;
        return result;
    }

    /// <summary>
    /// The encoder and, when the checkpoint has one, its masked-LM head from raw checkpoint tensors (which the caller
    /// still owns). A checkpoint without a head (an encoder export such as the bundled models) gets a fresh head; one
    /// with part of a head is an error naming the missing key. The tied decoder keys and other task heads are ignored.
    /// </summary>
    public static (MaskedLanguageModel Model, bool HeadFromCheckpoint, EncoderLoadReport Report) Load(TransformerConfig config, IReadOnlyDictionary<string, Tensor> raw, string source)
    {
        var layout = MaskedLmLayout.For(config);
        var (encoder, report) = EncoderCheckpoint.Load(config, raw, source);
        try
        {
            var found = layout.HeadKeys.Keys.ToDictionary(k => k, k => layout.Spellings(k).FirstOrDefault(raw.ContainsKey), StringComparer.Ordinal);
            var model = WithNewHead(encoder);
            if (found.Values.All(v => v is null)) return (model, false, report);
            if (found.FirstOrDefault(kv => kv.Value is null) is { Key: not null } missing)
                throw new CheckpointException(
                    $"Checkpoint '{source}' has part of a {layout.Architecture} head ('{found.Values.First(v => v is not null)}') but not '{layout.HeadKeys[missing.Key]}'.",
                    source, layout.HeadKeys[missing.Key]);
            var tensors = found.ToDictionary(kv => kv.Key, kv => raw[kv.Value!], StringComparer.Ordinal);
            StrictStateDict.Copy(model.Head, tensors, $"Checkpoint '{source}'", source, "config.json", k => layout.HeadKeys[k],
                $"a {layout.Architecture} head", keyKind: "head key");
            return (model, true, report);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }
}
