using MlNetLlm.Tokenization;
using System.Reflection;

namespace MlNetLlm.Modeling.Checkpoints;

/// <summary>A source of pretrained models known by name (the MlNetLlm.Models assembly provides "minilm" and "arctic-xs").</summary>
internal interface IPretrainedModelSource
{
    IReadOnlyCollection<string> Names { get; }

    /// <summary>The model's save_pretrained folder, materialised (imported, verified) on first use.</summary>
    string GetFolder(string name);
}

/// <summary>
/// Turns what a user wrote where a checkpoint is expected (a model folder, or a bundled model's name) into a folder.
/// The bundled models live in the optional MlNetLlm.Models assembly, so that an application that does not want
/// their weights can leave it out; it is found by name when first asked for.
/// </summary>
internal static class CheckpointLocator
{
    public const string ModelsAssembly = "MlNetLlm.Models";
    public const string ModelsSourceType = "MlNetLlm.Models.BundledModels";
    private static readonly object Gate = new();
    private static IPretrainedModelSource? _source;
    private static bool _searched;

    /// <summary>Uses <paramref name="source"/> for model names instead of the MlNetLlm.Models assembly.</summary>
    public static void Register(IPretrainedModelSource source)
    {
        lock (Gate) { _source = source; _searched = true; }
    }

    /// <summary>The names of the bundled models available in this process (empty without MlNetLlm.Models).</summary>
    public static IReadOnlyCollection<string> BundledNames => Source()?.Names ?? [];

    /// <summary>True when <paramref name="value"/> is no existing folder but names a bundled model.</summary>
    public static bool IsBundledName(string value) =>
        !Directory.Exists(value) && BundledNames.Contains(value, StringComparer.OrdinalIgnoreCase);

    /// <summary>The folder for <paramref name="nameOrFolder"/>: the folder itself, or the bundled model of that name.</summary>
    public static string Resolve(string nameOrFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrFolder);
        if (Directory.Exists(nameOrFolder)) return nameOrFolder;
        if (LooksLikePath(nameOrFolder))
            throw new CheckpointException($"Checkpoint folder '{nameOrFolder}' does not exist.", nameOrFolder);
        var source = Source();
        if (source is null)
            throw new CheckpointException(
                $"Checkpoint '{nameOrFolder}' is not a folder, and no bundled models are available: the names minilm and arctic-xs need the {ModelsAssembly} assembly (reference its project or package).",
                nameOrFolder);
        string? name = source.Names.FirstOrDefault(n => string.Equals(n, nameOrFolder, StringComparison.OrdinalIgnoreCase));
        if (name is null)
            throw new CheckpointException(
                $"Checkpoint '{nameOrFolder}' is neither a folder nor a bundled model (bundled: {string.Join(", ", source.Names)}).", nameOrFolder);
        return source.GetFolder(name);
    }

    private static bool LooksLikePath(string s) =>
        s.Contains(Path.DirectorySeparatorChar) || s.Contains(Path.AltDirectorySeparatorChar) || s.StartsWith('.') || s.StartsWith('~');

    private static IPretrainedModelSource? Source()
    {
        lock (Gate)
        {
            if (_searched) return _source;
            _searched = true;
            try
            {
                var type = Assembly.Load(new AssemblyName(ModelsAssembly)).GetType(ModelsSourceType, throwOnError: true)!;
                _source = (IPretrainedModelSource)(type.GetProperty("Default", BindingFlags.Public | BindingFlags.Static)?.GetValue(null)
                    ?? Activator.CreateInstance(type)!);
            }
            catch (FileNotFoundException)
            {
                _source = null; // the application does not carry the bundled models
            }
            return _source;
        }
    }
}
