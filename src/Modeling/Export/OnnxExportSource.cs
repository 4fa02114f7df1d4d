using MlNetLlm.Modeling.Training;

namespace MlNetLlm.Modeling.Export;

/// <summary>Whether an exported graph keeps fp32 weights or stores its large MatMul weights as int8.</summary>
public enum OnnxQuantization
{
    /// <summary>fp32 everywhere: the TorchSharp model's outputs to about 1e-5.</summary>
    None,
    /// <summary>Dynamic int8 quantization of every encoder layer's Linear weights (per output column, symmetric);
    /// activations are quantized at run time. Embeddings, LayerNorms, the pooler and the head stay fp32.</summary>
    Int8,
}

/// <summary>How to export a model to ONNX.</summary>
public sealed class OnnxExportOptions
{
    public OnnxQuantization Quantization { get; set; } = OnnxQuantization.None;

    /// <summary>How int8 MatMuls are written (the bench compares them; the default is the one it chose).</summary>
    internal OnnxInt8Layout Int8Layout { get; set; } = OnnxInt8Layout.MatMulIntegerPerChannel;

    /// <summary>Which Linears int8 quantizes (the bench compares them; the default is the one it chose).</summary>
    /// All but the FFN output: quantizing that one too (its input, after GELU, has the widest range) kept the fine-tuned
    /// MiniLM's labels on only 97.8% of the fortunes test rows; without it 98.3% (bench/README.md, onnx-accuracy).
    internal OnnxInt8Scope Int8Scope { get; set; } = OnnxInt8Scope.AllButFfnOutput;
}

/// <summary>What a classifier or regressor adds on top of the pooled encoder: the head's task and how its outputs read.</summary>
internal sealed record OnnxExportHead
{
    public required TaskKind Task { get; init; }
    /// <summary>The model with the head: its state dict holds body.encoder.* and head.* (<see cref="TextHeadModel"/>).</summary>
    public required TextHeadModel Model { get; init; }
    /// <summary>Class names in key order (multiclass); binary: the classes false and true stand for ([False, True] when not known); empty for regression.</summary>
    public IReadOnlyList<string> LabelNames { get; init; } = [];
    public float LabelMean { get; init; }
    public float LabelStd { get; init; } = 1;
    /// <summary>The output columns' names the scorer gives (null: Score and PredictedLabel).</summary>
    public string? ScoreColumn { get; init; }
    public string? PredictedLabelColumn { get; init; }
}

/// <summary>
/// What an exporter needs of a trained text model: the encoder and its spec (pooling, maximum length, tokenizer), the
/// tokenizer files it was trained with, the text columns, and either a head (classifier, regressor) or embedding settings.
/// </summary>
internal sealed record OnnxExportSource
{
    /// <summary>Names the model in errors ("the text classifier in 'model.zip'").</summary>
    public required string Description { get; init; }
    public required EncoderSpec Body { get; init; }
    public required PooledTextEncoder Encoder { get; init; }
    public required IReadOnlyDictionary<string, byte[]> TokenizerFiles { get; init; }
    public required IReadOnlyList<string> TextColumns { get; init; }
    /// <summary>The head of a classifier or regressor; null for an embedding model.</summary>
    public OnnxExportHead? Head { get; init; }
    /// <summary>Embedding models: the output column's name and whether vectors are scaled to unit length.</summary>
    public string OutputColumn { get; init; } = "Embedding";
    public bool Normalize { get; init; }
    /// <summary>Rows scored together.</summary>
    public int BatchSize { get; init; } = 32;
}

/// <summary>A model that can describe itself for ONNX export (the text classifiers and the embedding transform).</summary>
internal interface IOnnxExportable
{
    OnnxExportSource GetOnnxExportSource();
}

/// <summary>What an export wrote.</summary>
public sealed record OnnxExportResult(string Folder, string Kind, OnnxQuantization Quantization, long GraphBytes, IReadOnlyList<string> Files);
