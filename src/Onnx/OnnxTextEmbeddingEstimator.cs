using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet;

namespace MlNetLlm.Onnx;

/// <summary>Embeds a text column with an exported embedding model on ONNX Runtime: <c>mlContext.Transforms.Text.OnnxTextEmbedding(...)</c>.</summary>
public sealed class OnnxTextEmbeddingEstimator : OnnxTextEstimator<OnnxTextEmbeddingOptions, OnnxTextEmbeddingTransformer>
{
    internal OnnxTextEmbeddingEstimator(OnnxTextEmbeddingOptions options)
        : base(options, OnnxTextModelManifest.EmbeddingKind, m => $"OnnxTextEmbeddingOptions.ModelFolder '{options.ModelFolder}' holds a {m.Task?.ToLowerInvariant()} model, not an embedding model: use OnnxTextPrediction " +
                                                                  "(export the checkpoint, or a zip with an embedding transform, for embeddings).")
    {
    }

    private string InputColumn => Options.InputColumnName ?? Manifest.TextColumns[0];
    private string OutputColumn => Options.OutputColumnName ?? Manifest.OutputColumn ?? "Embedding";

    public override SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapes.RequireText(inputSchema, InputColumn, "Input column");
        return SchemaShapes.Append(inputSchema,
            new SchemaShapes.ColumnSpec(OutputColumn, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false, HasSlotNames: true));
    }

    public override OnnxTextEmbeddingTransformer Create() =>
        Options.Open(session => new OnnxTextEmbeddingTransformer(session, InputColumn, OutputColumn, Options.Normalize ?? Manifest.Normalize, Options.BatchSize ?? Manifest.BatchSize));
}
