namespace MlNetLlm.Onnx;

/// <summary>What every exported model's options share: the folder and how hard ONNX Runtime runs it.</summary>
public abstract class OnnxTextModelOptions
{
    private protected OnnxTextModelOptions() { }

    /// <summary>The folder <c>mlnet-llm export-onnx</c> (or <c>OnnxExport</c>) wrote.</summary>
    public string? ModelFolder { get; set; }
    /// <summary>Rows run together; null: the model's own.</summary>
    public int? BatchSize { get; set; }
    /// <summary>ONNX Runtime intra-op threads; null: ONNX Runtime's default (the machine's cores).</summary>
    public int? Threads { get; set; }

    /// <summary>Checks the options and reads the folder's manifest; errors name the option (OnnxTextPredictionOptions.ModelFolder, ...).</summary>
    internal OnnxTextModelManifest ReadManifest()
    {
        string owner = GetType().Name, folder = ModelFolder ?? "";
        if (string.IsNullOrWhiteSpace(ModelFolder))
            throw new ArgumentException($"{owner}.ModelFolder must name the folder mlnet-llm export-onnx wrote.", nameof(ModelFolder));
        if (BatchSize is < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"{owner}.BatchSize must be at least 1.");
        if (Threads is < 1) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, $"{owner}.Threads must be at least 1 (null: ONNX Runtime's default).");
        if (!OnnxTextEstimators.IsExportFolder(folder))
            throw new ArgumentException(Directory.Exists(folder)
                ? $"{owner}.ModelFolder '{folder}' holds no {OnnxTextModelManifest.FileName}: it is not a folder mlnet-llm export-onnx wrote."
                : $"{owner}.ModelFolder '{folder}' does not exist.", nameof(ModelFolder));
        string path = Path.Combine(folder, OnnxTextModelManifest.FileName);
        return OnnxTextModelManifest.Read(File.ReadAllBytes(path), path);
    }

    /// <summary>Opens the session and hands it to <paramref name="create"/>; the session is closed if that throws.</summary>
    internal T Open<T>(Func<OnnxTextSession, T> create)
    {
        var session = OnnxTextSession.Open(ModelFolder!, Threads);
        try
        {
            return create(session);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }
}

/// <summary>Options of <see cref="OnnxTextPredictionEstimator"/>: an exported classifier or regressor and how to feed it.</summary>
public sealed class OnnxTextPredictionOptions : OnnxTextModelOptions
{
    /// <summary>The text column; null: the one the model was trained on.</summary>
    public string? TextColumnName { get; set; }
    /// <summary>The second text column of a sentence-pair model; null: the one it was trained on.</summary>
    public string? SecondTextColumnName { get; set; }
}

/// <summary>Options of <see cref="OnnxTextEmbeddingEstimator"/>: an exported embedding model and how to feed it.</summary>
public sealed class OnnxTextEmbeddingOptions : OnnxTextModelOptions
{
    /// <summary>The text column; null: the one named in the export (Text for a checkpoint).</summary>
    public string? InputColumnName { get; set; }
    /// <summary>The vector column; null: the one named in the export (Embedding).</summary>
    public string? OutputColumnName { get; set; }
    /// <summary>Scale vectors to unit length; null: as exported.</summary>
    public bool? Normalize { get; set; }
}
