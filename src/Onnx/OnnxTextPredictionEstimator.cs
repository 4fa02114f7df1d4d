using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet;

namespace MlNetLlm.Onnx;

/// <summary>
/// Scores an exported text classifier or regressor with ONNX Runtime. Nothing is learned: Fit checks the schema and
/// loads the graph. <c>mlContext.Transforms.Text.OnnxTextPrediction("exported")</c>.
/// </summary>
public sealed class OnnxTextPredictionEstimator : IEstimator<OnnxTextPredictionTransformer>
{
    private readonly OnnxTextPredictionOptions _options;
    private readonly OnnxTextModelManifest _manifest;

    internal OnnxTextPredictionEstimator(OnnxTextPredictionOptions options)
    {
        _options = options;
        _manifest = options.ReadManifest();
        if (_manifest.Kind != OnnxTextModelManifest.PredictionKind)
            throw new ArgumentException($"OnnxTextPredictionOptions.ModelFolder '{options.ModelFolder}' holds an {_manifest.Kind} model, not a classifier or regressor: use OnnxTextEmbedding.", nameof(options));
    }

    /// <summary>The text columns the transformer will read.</summary>
    public IReadOnlyList<string> TextColumns =>
        [_options.TextColumnName ?? _manifest.TextColumns[0], .. _manifest.TextColumns.Length > 1 ? [_options.SecondTextColumnName ?? _manifest.TextColumns[1]] : Array.Empty<string>()];

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        foreach (var c in TextColumns) SchemaShapes.RequireText(inputSchema, c);
        var scalar = SchemaShape.Column.VectorKind.Scalar;
        return _manifest.Task switch
        {
            "Multiclass" => SchemaShapes.Append(inputSchema,
                new SchemaShapes.ColumnSpec(_manifest.ScoreColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false, HasSlotNames: true),
                new SchemaShapes.ColumnSpec(_manifest.PredictedLabelColumnName, scalar, NumberDataViewType.UInt32, true, HasKeyValues: true)),
            "Binary" => SchemaShapes.Append(inputSchema,
                new SchemaShapes.ColumnSpec(_manifest.ScoreColumnName, scalar, NumberDataViewType.Single, false),
                new SchemaShapes.ColumnSpec("Probability", scalar, NumberDataViewType.Single, false),
                new SchemaShapes.ColumnSpec(_manifest.PredictedLabelColumnName, scalar, BooleanDataViewType.Instance, false)),
            _ => SchemaShapes.Append(inputSchema, new SchemaShapes.ColumnSpec(_manifest.ScoreColumnName, scalar, NumberDataViewType.Single, false)),
        };
    }

    public OnnxTextPredictionTransformer Fit(IDataView input)
    {
        GetOutputSchema(SchemaShapes.FromSchema(input.Schema));
        return Create();
    }

    /// <summary>
    /// This scorer followed by the step that names the predicted class in a text column PredictedLabelValue, as the
    /// model.zip of mlnet-llm train has it: MapKeyToValue (multiclass), or the two exported class names (binary).
    /// Regression has no class to name: the scorer alone.
    /// </summary>
    public IEstimator<ITransformer> WithPredictedLabelValue(MLContext mlContext) => _manifest.Task switch
    {
        "Multiclass" => this.Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabelValue", _manifest.PredictedLabelColumnName)),
        "Binary" => this.Append(mlContext.Transforms.Conversion.MapValue("PredictedLabelValue",
            new[] { new KeyValuePair<bool, ReadOnlyMemory<char>>(false, _manifest.LabelNames[0].AsMemory()), new(true, _manifest.LabelNames[1].AsMemory()) }, _manifest.PredictedLabelColumnName)),
        _ => this,
    };

    /// <summary>The transformer without data (nothing is learned).</summary>
    public OnnxTextPredictionTransformer Create() =>
        _options.Open(session => new OnnxTextPredictionTransformer(session, TextColumns, _options.BatchSize ?? session.Manifest.BatchSize));
}
