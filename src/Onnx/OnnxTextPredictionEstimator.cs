using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet;

namespace MlNetLlm.Onnx;

/// <summary>
/// Scores an exported text classifier or regressor with ONNX Runtime. Nothing is learned: Fit checks the schema and
/// loads the graph. <c>mlContext.Transforms.Text.OnnxTextPrediction("exported")</c>.
/// </summary>
public sealed class OnnxTextPredictionEstimator : OnnxTextEstimator<OnnxTextPredictionOptions, OnnxTextPredictionTransformer>
{
    internal OnnxTextPredictionEstimator(OnnxTextPredictionOptions options)
        : base(options, OnnxTextModelManifest.PredictionKind, m => $"OnnxTextPredictionOptions.ModelFolder '{options.ModelFolder}' holds an {m.Kind} model, not a classifier or regressor: use OnnxTextEmbedding.")
    {
    }

    /// <summary>The text columns the transformer will read.</summary>
    public IReadOnlyList<string> TextColumns =>
        [Options.TextColumnName ?? Manifest.TextColumns[0], .. Manifest.TextColumns.Length > 1 ? [Options.SecondTextColumnName ?? Manifest.TextColumns[1]] : Array.Empty<string>()];

    public override SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        foreach (var c in TextColumns) SchemaShapes.RequireText(inputSchema, c);
        var scalar = SchemaShape.Column.VectorKind.Scalar;
        return Manifest.Task switch
        {
            "Multiclass" => SchemaShapes.Append(inputSchema,
                new SchemaShapes.ColumnSpec(Manifest.ScoreColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false, HasSlotNames: true),
                new SchemaShapes.ColumnSpec(Manifest.PredictedLabelColumnName, scalar, NumberDataViewType.UInt32, true, HasKeyValues: true)),
            "Binary" => SchemaShapes.Append(inputSchema,
                new SchemaShapes.ColumnSpec(Manifest.ScoreColumnName, scalar, NumberDataViewType.Single, false),
                new SchemaShapes.ColumnSpec(PredictionColumns.Probability, scalar, NumberDataViewType.Single, false),
                new SchemaShapes.ColumnSpec(Manifest.PredictedLabelColumnName, scalar, BooleanDataViewType.Instance, false)),
            _ => SchemaShapes.Append(inputSchema, new SchemaShapes.ColumnSpec(Manifest.ScoreColumnName, scalar, NumberDataViewType.Single, false)),
        };
    }

    /// <summary>
    /// This scorer followed by the step that names the predicted class in a text column PredictedLabelValue, as the
    /// model.zip of mlnet-llm train has it: MapKeyToValue (multiclass), or the two exported class names (binary).
    /// Regression has no class to name: the scorer alone.
    /// </summary>
    public IEstimator<ITransformer> WithPredictedLabelValue(MLContext mlContext) => Manifest.Task switch
    {
        "Multiclass" => this.Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabelValue", Manifest.PredictedLabelColumnName)),
        "Binary" => this.Append(mlContext.Transforms.Conversion.MapValue("PredictedLabelValue",
            new[] { new KeyValuePair<bool, ReadOnlyMemory<char>>(false, Manifest.LabelNames[0].AsMemory()), new(true, Manifest.LabelNames[1].AsMemory()) }, Manifest.PredictedLabelColumnName)),
        _ => this,
    };

    public override OnnxTextPredictionTransformer Create() =>
        Options.Open(session => new OnnxTextPredictionTransformer(session, TextColumns, Options.BatchSize ?? session.Manifest.BatchSize));
}
