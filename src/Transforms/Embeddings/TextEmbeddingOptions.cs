using Microsoft.Extensions.Logging;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.Transforms.Embeddings;

/// <summary>Options of the text embedding transform (text column in, fixed-length Single vector out).</summary>
public sealed class TextEmbeddingOptions
{
    public string InputColumnName { get; set; } = "Text";
    public string OutputColumnName { get; set; } = "Embedding";
    /// <summary>Hugging Face model folder (config.json, model.safetensors, tokenizer files).</summary>
    public string? CheckpointPath { get; set; }
    /// <summary>Mean over real tokens, the first token (CLS), max, or the checkpoint's pooler. Null: Mean for a checkpoint,
    /// the encoder's own for a trained model's encoder.</summary>
    public Pooling? Pooling { get; set; }
    /// <summary>Scale every vector to unit L2 length (cosine similarity becomes a dot product).</summary>
    public bool Normalize { get; set; }
    /// <summary>Tokens per text including special tokens; longer texts are truncated (a checkpoint also stops at its own
    /// positions). Null: <see cref="DefaultMaxLength"/> for a checkpoint, the encoder's own for a trained model's encoder.</summary>
    public int? MaxLength { get; set; }

    /// <summary>The <see cref="MaxLength"/> of a checkpoint when none is given.</summary>
    public const int DefaultMaxLength = 256;
    /// <summary>Texts encoded together; inside a batch run texts are sorted by length so padding stays small.</summary>
    public int BatchSize { get; set; } = 32;
    public DeviceOptions Device { get; set; } = new();
    /// <summary>Auto (default): the encoder's matrix products in bf16 where the device computes bf16 natively, fp32
    /// elsewhere. Pooling and normalisation are fp32 either way; vectors keep cosine ≥ 0.999 to fp32 (bench/README.md).</summary>
    public Precision Precision { get; set; } = Precision.Auto;

    /// <summary>Also receives what goes to <c>MLContext.Log</c> (which encoder was loaded, where, how fast).</summary>
    public ILogger? Logger { get; set; }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(InputColumnName)) throw new ArgumentException("TextEmbeddingOptions.InputColumnName must be set.", nameof(InputColumnName));
        if (string.IsNullOrWhiteSpace(OutputColumnName)) throw new ArgumentException("TextEmbeddingOptions.OutputColumnName must be set.", nameof(OutputColumnName));
        if (MaxLength is < 3) throw new ArgumentOutOfRangeException(nameof(MaxLength), MaxLength, "TextEmbeddingOptions.MaxLength must be at least 3.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "TextEmbeddingOptions.BatchSize must be at least 1.");
        if (!Enum.IsDefined(Precision)) throw new ArgumentOutOfRangeException(nameof(Precision), Precision, "TextEmbeddingOptions.Precision must be Auto, Fp32 or Bf16.");
    }
}
