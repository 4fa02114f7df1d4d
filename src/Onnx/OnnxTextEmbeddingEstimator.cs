using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet;

namespace MlNetLlm.Onnx;

/// <summary>Embeds a text column with an exported embedding model on ONNX Runtime: <c>mlContext.Transforms.Text.OnnxTextEmbedding(...)</c>.</summary>
public sealed class OnnxTextEmbeddingEstimator : IEstimator<OnnxTextEmbeddingTransformer>
{
    private readonly OnnxTextEmbeddingOptions _options;
    private readonly OnnxTextModelManifest _manifest;

    internal OnnxTextEmbeddingEstimator(OnnxTextEmbeddingOptions options)
    {
        _options = options;
        _manifest = options.ReadManifest();
        if (_manifest.Kind != OnnxTextModelManifest.EmbeddingKind)
            throw new ArgumentException($"OnnxTextEmbeddingOptions.ModelFolder '{options.ModelFolder}' holds a {_manifest.Task?.ToLowerInvariant()} model, not an embedding model: use OnnxTextPrediction " +
                                        "(export the checkpoint, or a zip with an embedding transform, for embeddings).", nameof(options));
    }

    private string InputColumn => _options.InputColumnName ?? _manifest.TextColumns[0];
    private string OutputColumn => _options.OutputColumnName ?? _manifest.OutputColumn ?? "Embedding";

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapes.RequireText(inputSchema, InputColumn, "Input column");
        return SchemaShapes.Append(inputSchema,
            new SchemaShapes.ColumnSpec(OutputColumn, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false, HasSlotNames: true));
    }

    public OnnxTextEmbeddingTransformer Fit(IDataView input)
    {
        GetOutputSchema(SchemaShapes.FromSchema(input.Schema));
        return Create();
    }

    /// <summary>The transformer without data (embeddings need no fitting).</summary>
    public OnnxTextEmbeddingTransformer Create() =>
        _options.Open(session => new OnnxTextEmbeddingTransformer(session, InputColumn, OutputColumn, _options.Normalize ?? _manifest.Normalize, _options.BatchSize ?? _manifest.BatchSize));
}
