using System.Text.Json;
using System.Text.Json.Serialization;
using MlNetLlm.MlNet;
using MlNetLlm.Tokenization;

namespace MlNetLlm.Onnx;

/// <summary>
/// <c>mlnetllm-onnx.json</c>, written beside an exported graph by MlNetLlm's exporter: what the graph computes and
/// everything a scorer needs besides it (the tokenizer, its maximum length, how outputs read).
/// </summary>
internal sealed record OnnxTextModelManifest
{
    public const string FileName = "mlnetllm-onnx.json";
    public const string FormatName = "mlnetllm-onnx";
    public const int SupportedFormatVersion = 1;
    public const string PredictionKind = "prediction", EmbeddingKind = "embedding";

    public string Format { get; init; } = "";
    public int FormatVersion { get; init; }
    /// <summary><see cref="PredictionKind"/> (a classifier or regressor; the graph outputs logits) or <see cref="EmbeddingKind"/>.</summary>
    public string Kind { get; init; } = "";
    /// <summary>Multiclass, Binary or Regression (prediction models).</summary>
    public string? Task { get; init; }
    /// <summary>Class names in key order (multiclass); binary: the classes PredictedLabel false and true stand for ([False, True] when not known).</summary>
    public string[] LabelNames { get; init; } = [];
    /// <summary>Regression targets were trained standardised: value = output · std + mean.</summary>
    public float LabelMean { get; init; }
    public float LabelStd { get; init; } = 1;
    /// <summary>Prediction models: the output columns' names (absent in older exports: Score and PredictedLabel).</summary>
    public string? ScoreColumn { get; init; }
    public string? PredictedLabelColumn { get; init; }
    [JsonIgnore] public string ScoreColumnName => ScoreColumn ?? PredictionColumns.Score;
    [JsonIgnore] public string PredictedLabelColumnName => PredictedLabelColumn ?? PredictionColumns.PredictedLabel;
    /// <summary>The text column(s) the model was trained on (a second one: sentence pairs).</summary>
    public string[] TextColumns { get; init; } = [];
    public string? OutputColumn { get; init; }
    /// <summary>Embedding models: whether vectors are scaled to unit length.</summary>
    public bool Normalize { get; init; }
    /// <summary>Tokens per text including special tokens; longer texts are truncated.</summary>
    public int MaxLength { get; init; }
    public string Pooling { get; init; } = "";
    public int BatchSize { get; init; } = 32;
    public TokenizerRecipe? Tokenizer { get; init; }
    public string[] TokenizerFiles { get; init; } = [];
    public string Graph { get; init; } = "model.onnx";
    public string[] Inputs { get; init; } = [];
    public string Output { get; init; } = "";
    public int OutputSize { get; init; }
    /// <summary>None (fp32) or Int8.</summary>
    public string Quantization { get; init; } = "None";
    /// <summary>The encoder, in words (model type, layers, hidden size).</summary>
    public string? Encoder { get; init; }
    public string? ExportedBy { get; init; }

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Reads and checks a manifest; errors name <paramref name="source"/> and the field at fault.</summary>
    public static OnnxTextModelManifest Read(byte[] json, string source)
    {
        OnnxTextModelManifest m;
        try
        {
            m = JsonSerializer.Deserialize<OnnxTextModelManifest>(json, Json) ?? throw new InvalidDataException($"'{source}' is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{source}' is not a valid {FileName}: {e.Message}", e);
        }
        string Bad(string what) => $"'{source}' {what}";
        if (m.Format != FormatName) throw new InvalidDataException(Bad($"is not an MlNetLlm ONNX export manifest (format \"{m.Format}\", expected \"{FormatName}\")."));
        if (m.FormatVersion != SupportedFormatVersion)
            throw new InvalidDataException(Bad($"has format version {m.FormatVersion}; this MlNetLlm.Onnx reads version {SupportedFormatVersion}: it was written by {(m.FormatVersion > SupportedFormatVersion ? "a newer" : "an older")} MlNetLlm ({m.ExportedBy})."));
        if (m.Kind is not (PredictionKind or EmbeddingKind)) throw new InvalidDataException(Bad($"has kind \"{m.Kind}\" (expected {PredictionKind} or {EmbeddingKind})."));
        if (m.Kind == PredictionKind && m.Task is not ("Multiclass" or "Binary" or "Regression"))
            throw new InvalidDataException(Bad($"has task \"{m.Task}\" (expected Multiclass, Binary or Regression)."));
        if (m.Kind == PredictionKind && m.Task == "Multiclass" && m.LabelNames.Length != m.OutputSize)
            throw new InvalidDataException(Bad($"names {m.LabelNames.Length} classes for {m.OutputSize} outputs."));
        if (m.Kind == PredictionKind && m.Task == "Binary" && m.LabelNames.Length != 2)
            throw new InvalidDataException(Bad($"names {m.LabelNames.Length} classes for a binary model (expected the two that false and true stand for)."));
        if (m.TextColumns.Length is < 1 or > 2) throw new InvalidDataException(Bad("must name one or two text columns."));
        if (m.Tokenizer is null) throw new InvalidDataException(Bad("has no tokenizer."));
        if (m.MaxLength < 3 || m.OutputSize < 1 || m.Inputs.Length < 2 || m.Output.Length == 0)
            throw new InvalidDataException(Bad("is incomplete (maxLength, outputSize, inputs and output must be set)."));
        return m;
    }
}
