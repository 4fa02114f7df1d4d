using Microsoft.ML;
using MlNetLlm.Onnx;
using MlNetLlm.Transforms.Embeddings;

namespace MlNetLlm.Cli.Commands;

/// <summary>predict and embed on a folder export-onnx wrote: the ONNX Runtime scorers in place of the TorchSharp ones.</summary>
internal static class ExportedModels
{
    /// <summary>
    /// The exported classifier or regressor, followed (as train's model.zip is) by the step that names the predicted
    /// class: MapKeyToValue for multiclass, the two class names for binary.
    /// </summary>
    public static ITransformer Predictor(MLContext ml, string folder, IDataView input) =>
        ml.Transforms.Text.OnnxTextPrediction(new OnnxTextPredictionOptions { ModelFolder = folder }).WithPredictedLabelValue(ml).Fit(input);

    /// <summary>An exported embedding model; pooling and length are fixed in its graph and manifest, normalisation may be turned on.</summary>
    public static OnnxTextEmbeddingTransformer Embedder(string folder, TextEmbeddingOptions options)
    {
        string manifestPath = Path.Combine(folder, OnnxTextModelManifest.FileName);
        var manifest = OnnxTextModelManifest.Read(File.ReadAllBytes(manifestPath), manifestPath);
        if (manifest.Kind != OnnxTextModelManifest.EmbeddingKind)
            throw new InvalidDataException($"--model '{folder}' is an exported {manifest.Task?.ToLowerInvariant()} model: it makes predictions, not vectors. Score it with predict --model {folder}, " +
                                           "or export the checkpoint itself (or a zip with an embedding transform) for embeddings.");
        if (options.Pooling is not null)
            throw new ArgumentException($"--pooling does not apply to '{folder}': an exported model's pooling is part of its graph (export the checkpoint again with --pooling).");
        if (options.MaxLength is not null)
            throw new ArgumentException($"--max-length does not apply to '{folder}': an exported model truncates to the length it was exported with (export the checkpoint again with --max-length).");
        if (options.Precision != MlNetLlm.Modeling.Runtime.Precision.Auto)
            throw new ArgumentException($"--precision does not apply to '{folder}': ONNX Runtime computes an exported model as it was exported (fp32, or int8 with --quantize int8).");
        return new MLContext().Transforms.Text.OnnxTextEmbedding(new OnnxTextEmbeddingOptions
        {
            ModelFolder = folder, Normalize = options.Normalize ? true : null, BatchSize = options.BatchSize,
        }).Create();
    }
}
