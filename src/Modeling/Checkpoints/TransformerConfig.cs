using MlNetLlm.Tokenization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MlNetLlm.Modeling.Checkpoints;

/// <summary>Encoder families this library implements; every supported <c>model_type</c> maps to one.</summary>
public enum EncoderFamily
{
    /// <summary>BERT and BERT-shaped checkpoints (MiniLM, ...): token types, absolute positions, post-LayerNorm.</summary>
    Bert,
    /// <summary>RoBERTa and XLM-R: BERT layers, position ids offset by padding_idx + 1.</summary>
    Roberta,
    /// <summary>DistilBERT: own key names, no token types, no pooler.</summary>
    DistilBert,
}

/// <summary>The encoder hyper-parameters of a Hugging Face <c>config.json</c>, normalised across families.</summary>
public sealed record TransformerConfig : ITokenizedModel
{
    public required string ModelType { get; init; }
    public required EncoderFamily Family { get; init; }
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    public required int IntermediateSize { get; init; }
    public string HiddenAct { get; init; } = "gelu";
    public int MaxPositionEmbeddings { get; init; } = 512;
    /// <summary>0 where the family has no token type embeddings (DistilBERT).</summary>
    public int TypeVocabSize { get; init; } = 2;
    public double LayerNormEps { get; init; } = 1e-12;
    public int PadTokenId { get; init; }
    public double HiddenDropout { get; init; } = 0.1;
    public double AttentionDropout { get; init; } = 0.1;
    public bool SinusoidalPositions { get; init; }

    public int HeadDim => HiddenSize / NumHeads;

    /// <summary>Tokens the position table allows: RoBERTa's reserves padding_idx + 1 leading positions.</summary>
    [JsonIgnore]
    public int PositionLimit => Family == EncoderFamily.Roberta ? MaxPositionEmbeddings - PadTokenId - 1 : MaxPositionEmbeddings;

    /// <summary>The checkpoint key prefix a task model puts before the encoder's keys (bert., roberta., distilbert.).</summary>
    public string TaskPrefix => Family switch
    {
        EncoderFamily.Bert => "bert",
        EncoderFamily.Roberta => ModelType == "xlm-roberta" || ModelType == "roberta" ? "roberta" : ModelType,
        _ => "distilbert",
    };

    public static readonly IReadOnlyDictionary<string, EncoderFamily> SupportedModelTypes = new Dictionary<string, EncoderFamily>
    {
        ["bert"] = EncoderFamily.Bert,
        ["roberta"] = EncoderFamily.Roberta,
        ["xlm-roberta"] = EncoderFamily.Roberta,
        ["camembert"] = EncoderFamily.Roberta,
        ["distilbert"] = EncoderFamily.DistilBert,
    };

    public static TransformerConfig Load(string configPath)
    {
        if (!File.Exists(configPath))
            throw new CheckpointException($"config.json not found at '{configPath}': a Hugging Face model folder needs one.", configPath);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(configPath));
            return Parse(doc.RootElement, configPath);
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"'{configPath}' is not valid JSON: {e.Message}", configPath, inner: e);
        }
    }

    public static TransformerConfig Parse(JsonElement root, string source)
    {
        string modelType = Str(root, "model_type") ?? throw new CheckpointException($"'{source}' has no \"model_type\".", source);
        if (!SupportedModelTypes.TryGetValue(modelType, out var family))
            throw new CheckpointException(
                $"'{source}' has model_type \"{modelType}\"; supported: {string.Join(", ", SupportedModelTypes.Keys)} (MiniLM checkpoints are \"bert\").", source);

        // DistilBERT's config.json names the same numbers differently and has no token types or layer-norm eps.
        bool distil = family == EncoderFamily.DistilBert;
        var k = distil ? DistilBertKeys : BertKeys;
        var config = new TransformerConfig
        {
            ModelType = modelType,
            Family = family,
            VocabSize = Req(root, "vocab_size", source),
            HiddenSize = Req(root, k.Hidden, source),
            NumLayers = Req(root, k.Layers, source),
            NumHeads = Req(root, k.Heads, source),
            IntermediateSize = Req(root, k.Intermediate, source),
            HiddenAct = Str(root, k.Activation) ?? "gelu",
            MaxPositionEmbeddings = Int(root, "max_position_embeddings") ?? 512,
            TypeVocabSize = distil ? 0 : Int(root, "type_vocab_size") ?? 2,
            LayerNormEps = distil ? 1e-12 : Dbl(root, "layer_norm_eps") ?? 1e-12,
            PadTokenId = Int(root, "pad_token_id") ?? (family == EncoderFamily.Roberta ? 1 : 0),
            HiddenDropout = Dbl(root, k.Dropout) ?? 0.1,
            AttentionDropout = Dbl(root, k.AttentionDropout) ?? 0.1,
            SinusoidalPositions = distil && root.TryGetProperty("sinusoidal_pos_embds", out var s) && s.ValueKind == JsonValueKind.True,
        };
        config.Validate(source);
        return config;
    }

    private sealed record ConfigKeys(string Hidden, string Layers, string Heads, string Intermediate, string Activation, string Dropout, string AttentionDropout);
    private static readonly ConfigKeys BertKeys = new("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob");
    private static readonly ConfigKeys DistilBertKeys = new("dim", "n_layers", "n_heads", "hidden_dim", "activation", "dropout", "attention_dropout");

    /// <summary>Checks the numbers agree with each other; the message names the file and the keys.</summary>
    public void Validate(string source = "config")
    {
        if (VocabSize <= 0 || HiddenSize <= 0 || NumLayers <= 0 || NumHeads <= 0 || IntermediateSize <= 0 || MaxPositionEmbeddings <= 0)
            throw new CheckpointException($"'{source}': vocab size, hidden size, layers, heads, intermediate size and max positions must all be positive.", source);
        if (HiddenSize % NumHeads != 0)
            throw new CheckpointException($"'{source}': hidden size {HiddenSize} is not divisible by the number of attention heads {NumHeads}.", source);
        if (!Architectures.Activations.IsSupported(HiddenAct))
            throw new CheckpointException($"'{source}': activation \"{HiddenAct}\" is not supported (supported: {string.Join(", ", Architectures.Activations.Names)}).", source);
        if (PadTokenId < 0 || PadTokenId >= VocabSize)
            throw new CheckpointException($"'{source}': pad_token_id {PadTokenId} is outside the vocabulary of {VocabSize}.", source);
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int? Int(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;

    private static double? Dbl(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static int Req(JsonElement e, string name, string source) =>
        Int(e, name) ?? throw new CheckpointException($"'{source}' has no numeric \"{name}\".", source);
}
