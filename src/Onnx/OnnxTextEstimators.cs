using Microsoft.ML;

namespace MlNetLlm.Onnx;

/// <summary>Catalog entry points, ML.NET style.</summary>
public static class OnnxTextEstimators
{
    /// <summary>An exported classifier or regressor, reading the text column(s) it was trained on.</summary>
    public static OnnxTextPredictionEstimator OnnxTextPrediction(this TransformsCatalog.TextTransforms catalog, string modelFolder) =>
        new(new OnnxTextPredictionOptions { ModelFolder = modelFolder });

    public static OnnxTextPredictionEstimator OnnxTextPrediction(this TransformsCatalog.TextTransforms catalog, OnnxTextPredictionOptions options) => new(options);

    /// <summary>An exported embedding model: <paramref name="inputColumnName"/> → <paramref name="outputColumnName"/>.</summary>
    public static OnnxTextEmbeddingEstimator OnnxTextEmbedding(this TransformsCatalog.TextTransforms catalog, string outputColumnName, string inputColumnName, string modelFolder) =>
        new(new OnnxTextEmbeddingOptions { ModelFolder = modelFolder, InputColumnName = inputColumnName, OutputColumnName = outputColumnName });

    public static OnnxTextEmbeddingEstimator OnnxTextEmbedding(this TransformsCatalog.TextTransforms catalog, OnnxTextEmbeddingOptions options) => new(options);

    /// <summary>True when <paramref name="path"/> is a folder an MlNetLlm export wrote.</summary>
    public static bool IsExportFolder(string path) => Directory.Exists(path) && File.Exists(Path.Combine(path, OnnxTextModelManifest.FileName));
}
