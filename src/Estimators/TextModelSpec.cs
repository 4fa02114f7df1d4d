using System.Text.Json;
using MlNetLlm.Modeling.Architectures;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Tokenization;
using MlNetLlm.Modeling.Training;
using static TorchSharp.torch;

namespace MlNetLlm.Estimators;

/// <summary>How to rebuild an encoder and its tokenizer (weights and tokenizer files are stored beside it).</summary>
public sealed record EncoderSpec
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

    /// <summary>A fresh (untrained) encoder of this shape.</summary>
    public PooledTextEncoder CreateBody() => Encoder switch
    {
        TextEncoderKind.Lstm => new LstmTextEncoder(Lstm ?? throw new InvalidDataException("The encoder spec has no LSTM config.")),
        _ => new TransformerTextEncoder(EncoderCheckpoint.Create(Transformer ?? throw new InvalidDataException("The encoder spec has no transformer config."), EncoderHasPooler), Pooling),
    };

    /// <summary>The tokenizer from files restored into <paramref name="folder"/>.</summary>
    public TextTokenizer CreateTokenizer(string folder) => TokenizerKind switch
    {
        "words" => Generation == TokenizerGeneration.MicrosoftMlTokenizers
            ? LegacyWordPieceTextTokenizer.Create(Path.Combine(folder, "vocab.txt"), lowerCase: true, modelMaxLength: MaxLength)
            : WordPieceTextTokenizer.Create(Path.Combine(folder, "vocab.txt"), lowerCase: true, modelMaxLength: MaxLength),
        _ => TokenizerLoader.Load(folder, Transformer ?? throw new InvalidDataException("The encoder spec has no transformer config."), Generation),
    };

    /// <summary>The tokenizer from in-memory files (as stored in a model zip).</summary>
    public TextTokenizer CreateTokenizer(IReadOnlyDictionary<string, byte[]> files)
    {
        string folder = Directory.CreateTempSubdirectory("mlnetllm-tokenizer-").FullName;
        try
        {
            foreach (var (name, bytes) in files) File.WriteAllBytes(Path.Combine(folder, name), bytes);
            return CreateTokenizer(folder);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

/// <summary>Everything needed to rebuild a trained text model besides its weights and tokenizer files; saved as JSON in the zip.</summary>
public sealed record TextModelSpec
{
    public required TaskKind Task { get; init; }
    public required string[] TextColumns { get; init; }
    public required EncoderSpec Body { get; init; }
    public required int Outputs { get; init; }
    /// <summary>Class names in key order (multiclass) or [False, True] (binary); empty for regression.</summary>
    public string[] LabelNames { get; init; } = [];
    /// <summary>Regression targets are trained standardised; predictions are mapped back with these.</summary>
    public float LabelMean { get; init; }
    public float LabelStd { get; init; } = 1;
    public int PredictionBatchSize { get; init; } = 64;
    public double Dropout { get; init; } = 0.1;

    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    /// <summary>A fresh (untrained) model of this shape.</summary>
    public TextHeadModel CreateModel() => new(Body.CreateBody(), Outputs, Dropout);
}

/// <summary>Loads weights saved with <see cref="SafeTensorsWriter"/> into a model, strictly.</summary>
public static class ModelWeights
{
    public static byte[] Save(nn.Module model)
    {
        using var ms = new MemoryStream();
        SafeTensorsWriter.Write(ms, model.state_dict());
        return ms.ToArray();
    }

    public static void Load(nn.Module model, byte[] safetensors, string entryName)
    {
        string tmp = Path.Combine(Path.GetTempPath(), $"mlnetllm-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllBytes(tmp, safetensors);
            using var file = SafeTensorsFile.Open(tmp);
            var expected = model.state_dict();
            var missing = expected.Keys.Where(k => !file.Tensors.ContainsKey(k)).ToList();
            var extra = file.Tensors.Keys.Where(k => !expected.ContainsKey(k)).ToList();
            if (missing.Count > 0 || extra.Count > 0)
                throw new InvalidDataException($"Model zip entry '{entryName}' does not fit the saved model spec (missing: {string.Join(", ", missing.Take(3))}; unexpected: {string.Join(", ", extra.Take(3))}).");
            using var noGrad = no_grad();
            foreach (var (k, p) in expected)
            {
                using var t = file.Read(k);
                if (!t.shape.SequenceEqual(p.shape))
                    throw new InvalidDataException($"Model zip entry '{entryName}': tensor '{k}' has shape [{string.Join(", ", t.shape)}], the spec implies [{string.Join(", ", p.shape)}].");
                p.copy_(t);
            }
        }
        catch (CheckpointException e)
        {
            throw new InvalidDataException($"Model zip entry '{entryName}' is corrupt: {e.Message}", e);
        }
        finally
        {
            File.Delete(tmp);
        }
    }
}
