using System.Text.Json;
using MlNetLlm.MlNet;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.Estimators;

/// <summary>Everything needed to rebuild a trained text model besides its weights and tokenizer files; saved as JSON in the zip.</summary>
internal sealed record TextModelSpec
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
    /// <summary>The precision the model was trained in, resolved (Fp32 or Bf16); it scores in it after loading where the
    /// device computes bf16 natively. Zips saved before the field existed read as Fp32.</summary>
    public Precision Precision { get; init; } = Precision.Fp32;
    /// <summary>The output columns' names (zips saved before the fields existed read as ML.NET's defaults).</summary>
    public string ScoreColumnName { get; init; } = PredictionColumns.Score;
    public string PredictedLabelColumnName { get; init; } = PredictionColumns.PredictedLabel;

    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    /// <summary>A fresh (untrained) model of this shape.</summary>
    public TextHeadModel CreateModel()
    {
        lock (TrainingLoop.RandomStateLock) // the head's initial weights come from the global generator too
            return new(Body.CreateBody(), Outputs, Dropout);
    }
}
