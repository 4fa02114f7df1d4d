using System.Text.Json;
using MlNetLlm.Modeling.Architectures;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Tokenization;
using MlNetLlm.Modeling.Training;
using static TorchSharp.torch;

namespace MlNetLlm.Estimators;

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
