using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

[assembly: IgnoresAccessChecksTo("Microsoft.ML.Core")]
[assembly: IgnoresAccessChecksTo("Microsoft.ML.Data")]
[assembly: LoadableClass(typeof(MlNetLlm.MlNet.Persistence.PersistableTransformer), null, typeof(SignatureLoadModel),
    "MlNetLlm transformer", MlNetLlm.MlNet.Persistence.PersistableTransformer.LoaderSignature)]

namespace MlNetLlm.MlNet.Persistence;

/// <summary>
/// Base of every MlNetLlm transformer that goes into an ML.NET model zip. This file is the only code that touches
/// ML.NET's internal persistence API; derived transformers write and read named entries through
/// <see cref="ModelWriter"/> / <see cref="ModelReader"/>, and plain <c>mlContext.Model.Load</c> finds them again
/// in a fresh process (the entry records the concrete type, whose assembly the application references).
/// </summary>
public abstract class PersistableTransformer : ITransformer, ICanSaveModel
{
    public abstract bool IsRowToRowMapper { get; }
    public abstract DataViewSchema GetOutputSchema(DataViewSchema inputSchema);
    public abstract IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema);
    public abstract IDataView Transform(IDataView input);

    public const string LoaderSignature = "MlNetLlmTransformer";
    private const string ModelSignature = "MLNLLMTR";

    private static VersionInfo GetVersionInfo() => new(
        modelSignature: ModelSignature,
        verWrittenCur: 0x00010001,
        verReadableCur: 0x00010001,
        verWeCanReadBack: 0x00010001,
        loaderSignature: LoaderSignature,
        loaderAssemblyName: typeof(PersistableTransformer).Assembly.FullName);

    /// <summary>Writes the transformer's state (weights, config, tokenizer files, label names) as named entries.</summary>
    protected abstract void SaveState(ModelWriter writer);

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        MlNetVersionCheck.Ensure();
        ctx.CheckAtModel();
        ctx.SetVersionInfo(GetVersionInfo());
        var type = GetType();
        ctx.Writer.Write($"{type.FullName}, {type.Assembly.GetName().Name}");
        SaveState(new ModelWriter(ctx));
    }

    // Found by ML.NET's component catalog through the LoadableClass attribute above.
    private static PersistableTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        MlNetVersionCheck.Ensure();
        ctx.CheckAtModel(GetVersionInfo());
        string typeName = ctx.Reader.ReadString();
        var type = Type.GetType(typeName, throwOnError: false)
                   ?? throw new InvalidDataException($"The model zip holds an MlNetLlm transformer of type '{typeName}', which this process cannot load: reference its assembly.");
        var load = type.GetMethod("LoadState", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic,
                       [typeof(IHostEnvironment), typeof(ModelReader)])
                   ?? throw new InvalidDataException($"Type '{typeName}' has no static LoadState(IHostEnvironment, ModelReader).");
        try
        {
            return (PersistableTransformer)load.Invoke(null, [env, new ModelReader(ctx)])!;
        }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }
}

/// <summary>Writes named binary entries into the transformer's folder of the model zip.</summary>
public sealed class ModelWriter
{
    private readonly ModelSaveContext _ctx;
    internal ModelWriter(ModelSaveContext ctx) => _ctx = ctx;

    /// <summary>Writes an entry and, beside it, <c>NAME.sha256</c>: ML.NET does not check the zip's CRCs on load, and a
    /// flipped byte inside the weights would otherwise load and score NaN.</summary>
    public void WriteBytes(string name, byte[] data)
    {
        _ctx.SaveBinaryStream(name, w => w.Write(data));
        _ctx.SaveBinaryStream(name + ModelReader.ChecksumSuffix, w => w.Write(System.Text.Encoding.ASCII.GetBytes(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data)))));
    }

    public void WriteJson<T>(string name, T value) => WriteBytes(name, JsonSerializer.SerializeToUtf8Bytes(value, JsonOptions.Default));

    /// <summary>Writes a set of named files (for example tokenizer files) under <paramref name="prefix"/>, with their list.</summary>
    public void WriteFiles(string prefix, IReadOnlyDictionary<string, byte[]> files)
    {
        foreach (var (name, bytes) in files)
            WriteBytes(prefix + name, bytes);
        WriteJson(prefix + "files.json", files.Keys.ToList());
    }
}

/// <summary>Reads the named entries a <see cref="ModelWriter"/> wrote; a missing entry is an error naming it.</summary>
public sealed class ModelReader
{
    private readonly ModelLoadContext _ctx;
    internal ModelReader(ModelLoadContext ctx) => _ctx = ctx;

    public bool Exists(string name) => _ctx.TryLoadBinaryStream(name, _ => { });

    public const string ChecksumSuffix = ".sha256";

    /// <summary>The entry's bytes, verified against its saved SHA-256 (zips written before checksums have none to check).</summary>
    public byte[] ReadBytes(string name)
    {
        byte[]? data = null;
        try
        {
            if (!_ctx.TryLoadBinaryStream(name, r => data = ReadToEnd(r.BaseStream)))
                throw new InvalidDataException($"The model zip is missing entry '{name}' of an MlNetLlm transformer (was it saved by an older version, or edited?).");
        }
        catch (Exception e) when (e is not InvalidDataException)
        {
            throw new InvalidDataException($"Model zip entry '{name}' cannot be read (the zip is damaged): {e.Message}", e);
        }
        byte[]? expected = null;
        _ctx.TryLoadBinaryStream(name + ChecksumSuffix, r => expected = ReadToEnd(r.BaseStream));
        if (expected is not null)
        {
            string saved = System.Text.Encoding.ASCII.GetString(expected), actual = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data!));
            if (saved != actual)
                throw new InvalidDataException($"Model zip entry '{name}' is corrupt: its SHA-256 is {actual[..16]}..., not the {saved[..Math.Min(16, saved.Length)]}... saved with it. Restore the zip from a good copy.");
        }
        return data!;
    }

    public T ReadJson<T>(string name) =>
        JsonSerializer.Deserialize<T>(ReadBytes(name), JsonOptions.Default)
        ?? throw new InvalidDataException($"Model zip entry '{name}' is empty.");

    /// <summary>The files written by <see cref="ModelWriter.WriteFiles"/> under <paramref name="prefix"/>.</summary>
    public Dictionary<string, byte[]> ReadFiles(string prefix) =>
        ReadJson<List<string>>(prefix + "files.json").ToDictionary(n => n, n => ReadBytes(prefix + n));

    private static byte[] ReadToEnd(Stream s)
    {
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }
}

internal static class JsonOptions
{
    public static readonly JsonSerializerOptions Default = new() { IncludeFields = true, WriteIndented = false };
}
