using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet;

namespace MlNetLlm.Onnx;

/// <summary>Options of <see cref="OnnxTextPredictionEstimator"/>: an exported classifier or regressor and how to feed it.</summary>
public sealed class OnnxTextPredictionOptions
{
    /// <summary>The folder <c>mlnet-llm export-onnx</c> (or <c>OnnxExport</c>) wrote.</summary>
    public string? ModelFolder { get; set; }
    /// <summary>The text column; null: the one the model was trained on.</summary>
    public string? TextColumnName { get; set; }
    /// <summary>The second text column of a sentence-pair model; null: the one it was trained on.</summary>
    public string? SecondTextColumnName { get; set; }
    /// <summary>Rows run together; null: the model's own.</summary>
    public int? BatchSize { get; set; }
    /// <summary>ONNX Runtime intra-op threads; null: ONNX Runtime's default (the machine's cores).</summary>
    public int? Threads { get; set; }
}

/// <summary>Options of <see cref="OnnxTextEmbeddingEstimator"/>: an exported embedding model and how to feed it.</summary>
public sealed class OnnxTextEmbeddingOptions
{
    /// <summary>The folder <c>mlnet-llm export-onnx</c> (or <c>OnnxExport</c>) wrote.</summary>
    public string? ModelFolder { get; set; }
    /// <summary>The text column; null: the one named in the export (Text for a checkpoint).</summary>
    public string? InputColumnName { get; set; }
    /// <summary>The vector column; null: the one named in the export (Embedding).</summary>
    public string? OutputColumnName { get; set; }
    /// <summary>Scale vectors to unit length; null: as exported.</summary>
    public bool? Normalize { get; set; }
    public int? BatchSize { get; set; }
    public int? Threads { get; set; }
}

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
        _manifest = OnnxTextEstimators.ReadManifest(options.ModelFolder, "OnnxTextPredictionOptions.ModelFolder", options.BatchSize, options.Threads, "OnnxTextPredictionOptions");
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
    public OnnxTextPredictionTransformer Create()
    {
        var session = OnnxTextSession.Open(_options.ModelFolder!, _options.Threads);
        try
        {
            return new OnnxTextPredictionTransformer(session, TextColumns, _options.BatchSize ?? session.Manifest.BatchSize);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }
}

/// <summary>Embeds a text column with an exported embedding model on ONNX Runtime: <c>mlContext.Transforms.Text.OnnxTextEmbedding(...)</c>.</summary>
public sealed class OnnxTextEmbeddingEstimator : IEstimator<OnnxTextEmbeddingTransformer>
{
    private readonly OnnxTextEmbeddingOptions _options;
    private readonly OnnxTextModelManifest _manifest;

    internal OnnxTextEmbeddingEstimator(OnnxTextEmbeddingOptions options)
    {
        _options = options;
        _manifest = OnnxTextEstimators.ReadManifest(options.ModelFolder, "OnnxTextEmbeddingOptions.ModelFolder", options.BatchSize, options.Threads, "OnnxTextEmbeddingOptions");
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
    public OnnxTextEmbeddingTransformer Create()
    {
        var session = OnnxTextSession.Open(_options.ModelFolder!, _options.Threads);
        try
        {
            return new OnnxTextEmbeddingTransformer(session, InputColumn, OutputColumn, _options.Normalize ?? _manifest.Normalize, _options.BatchSize ?? _manifest.BatchSize);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }
}

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

    internal static OnnxTextModelManifest ReadManifest(string? folder, string option, int? batchSize, int? threads, string options)
    {
        if (string.IsNullOrWhiteSpace(folder))
            throw new ArgumentException($"{option} must name the folder mlnet-llm export-onnx wrote.", nameof(folder));
        if (batchSize is < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"{options}.BatchSize must be at least 1.");
        if (threads is < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, $"{options}.Threads must be at least 1 (null: ONNX Runtime's default).");
        if (!IsExportFolder(folder))
            throw new ArgumentException(Directory.Exists(folder)
                ? $"{option} '{folder}' holds no {OnnxTextModelManifest.FileName}: it is not a folder mlnet-llm export-onnx wrote."
                : $"{option} '{folder}' does not exist.", nameof(folder));
        string path = Path.Combine(folder, OnnxTextModelManifest.FileName);
        return OnnxTextModelManifest.Read(File.ReadAllBytes(path), path);
    }
}
