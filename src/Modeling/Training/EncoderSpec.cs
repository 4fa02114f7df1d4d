using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Tokenization;

namespace MlNetLlm.Modeling.Training;

/// <summary>Which encoder reads the text.</summary>
public enum TextEncoderKind
{
    /// <summary>A Hugging Face checkpoint folder (the trainer options' CheckpointPath): fine-tuned, or frozen with only the head trained.</summary>
    Checkpoint,
    /// <summary>A small BERT-shaped transformer trained from scratch, with a word vocabulary learned from the training text.</summary>
    Transformer,
    /// <summary>Word embeddings (optionally from a GloVe file) and a (Bi)LSTM: the cheap classic.</summary>
    Lstm,
}

/// <summary>How to rebuild an encoder and its tokenizer (weights and tokenizer files are stored beside it).</summary>
internal sealed record EncoderSpec
{
    public required TextEncoderKind Encoder { get; init; }
    public Pooling Pooling { get; init; } = Pooling.Mean;
    public TransformerConfig? Transformer { get; init; }
    public bool EncoderHasPooler { get; init; }
    public LstmConfig? Lstm { get; init; }
    /// <summary>"checkpoint": the checkpoint's own tokenizer files; "words": a vocab.txt learned from the training text.</summary>
    public required string TokenizerKind { get; init; }
    /// <summary>Tokens per text including special tokens; longer texts are truncated.</summary>
    public required int MaxLength { get; init; }
    /// <summary>Which tokenizer implementation the model was trained with (<see cref="TokenizerGeneration"/>): new models
    /// get <see cref="CurrentTokenization"/>; specs saved before the field existed read as <see cref="LegacyTokenization"/>.</summary>
    public string Tokenization { get; init; } = LegacyTokenization;

    /// <summary>Hugging Face parity everywhere, XLM-R's Unigram included.</summary>
    public const string CurrentTokenization = "huggingface-2";
    /// <summary>Hugging Face parity for WordPiece and BPE, XLM-R through Microsoft.ML.Tokenizers (models saved by 0.x before Unigram parity).</summary>
    public const string HuggingFaceWordPieceTokenization = "huggingface";
    /// <summary>Microsoft.ML.Tokenizers' BertTokenizer (<see cref="LegacyWordPieceTextTokenizer"/>), before parity.</summary>
    public const string LegacyTokenization = "microsoft-ml-tokenizers";

    private TokenizerGeneration Generation => Tokenization switch
    {
        CurrentTokenization => TokenizerGeneration.HuggingFace,
        HuggingFaceWordPieceTokenization => TokenizerGeneration.HuggingFaceWordPiece,
        LegacyTokenization => TokenizerGeneration.MicrosoftMlTokenizers,
        _ => throw new InvalidDataException($"The model's encoder spec names tokenization \"{Tokenization}\", which this version does not know (known: {CurrentTokenization}, {HuggingFaceWordPieceTokenization}, {LegacyTokenization}): it was saved by a newer MlNetLlm."),
    };

    /// <summary>The spec and pooled encoder of a loaded checkpoint: the one place a pretrained encoder becomes a model
    /// body, for the trainers and the embedding transform alike. Throws if Pooler is asked of a checkpoint without one.</summary>
    public static (EncoderSpec Spec, TransformerTextEncoder Encoder) FromPretrained(PretrainedTransformer pretrained, Pooling pooling, int maxLength)
    {
        var spec = new EncoderSpec
        {
            Encoder = TextEncoderKind.Checkpoint, Pooling = pooling, Transformer = pretrained.Config, EncoderHasPooler = pretrained.Encoder.HasPooler,
            TokenizerKind = "checkpoint", MaxLength = maxLength, Tokenization = CurrentTokenization,
        };
        return (spec, new TransformerTextEncoder(pretrained.Encoder, pooling));
    }

    /// <summary>A fresh (untrained) encoder of this shape.</summary>
    public PooledTextEncoder CreateBody()
    {
        lock (TrainingLoop.RandomStateLock) // initial weights come from the global generator (see EncoderCheckpoint.Create)
            return Encoder switch
            {
                TextEncoderKind.Lstm => new LstmTextEncoder(Lstm ?? throw new InvalidDataException("The encoder spec has no LSTM config.")),
                _ => new TransformerTextEncoder(EncoderCheckpoint.Create(Transformer ?? throw new InvalidDataException("The encoder spec has no transformer config."), EncoderHasPooler), Pooling),
            };
    }

    /// <summary>The tokenizer from files restored into <paramref name="folder"/>.</summary>
    public TextTokenizer CreateTokenizer(string folder) => CreateTokenizer(TokenizerLoader.ReadFiles(folder));

    /// <summary>The tokenizer from in-memory files (as stored in a model zip), read in memory.</summary>
    public TextTokenizer CreateTokenizer(IReadOnlyDictionary<string, byte[]> files) => GetTokenizerRecipe().Create(files, "the model's tokenizer files");

    /// <summary>How the tokenizer is rebuilt from the stored files (also written beside an exported ONNX graph).</summary>
    public TokenizerRecipe GetTokenizerRecipe() => TokenizerKind == "words"
        ? new TokenizerRecipe { Kind = TokenizerRecipe.WordsKind, Generation = Generation, PositionLimit = MaxLength }
        : new TokenizerRecipe
        {
            Kind = TokenizerRecipe.CheckpointKind, Generation = Generation,
            ModelType = (Transformer ?? throw new InvalidDataException("The encoder spec has no transformer config.")).ModelType,
            PositionLimit = Transformer.PositionLimit,
        };
}

/// <summary>A trained encoder with what rebuilds it: the spec, the encoder module, the tokenizer files it was trained
/// with. Implemented by the text classifiers, so an embedding transform can take over their encoder; public so the
/// catalog can name it, with members only the adapters see.</summary>
public interface ITrainedTextEncoder
{
    internal EncoderSpec EncoderSpec { get; }
    internal PooledTextEncoder Encoder { get; }
    internal IReadOnlyDictionary<string, byte[]> TokenizerFiles { get; }
    internal IReadOnlyList<string> TextColumns { get; }
}
