using MlNetLlm.Tokenization;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Checkpoints;

/// <summary>Where one tensor lives in a safetensors file.</summary>
internal sealed record SafeTensorInfo(string Name, string DType, long[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// Reader for the safetensors format: u64 little-endian header length, a JSON header
/// <c>{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}</c>, then raw little-endian bytes.
/// The header is validated on open, so a truncated or corrupt file fails before any tensor is made.
/// </summary>
internal sealed class SafeTensorsFile(string path, Stream stream, long dataStart, Dictionary<string, SafeTensorInfo> tensors, Dictionary<string, string> metadata) : IDisposable
{
    // Larger headers do not occur in practice (the reference implementation caps at 100 MB).
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    public string FilePath { get; } = path;
    public IReadOnlyDictionary<string, SafeTensorInfo> Tensors { get; } = tensors;
    public IReadOnlyDictionary<string, string> Metadata { get; } = metadata;

    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path))
            throw new CheckpointException($"Safetensors file '{path}' does not exist.", path);
        return Open(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess), path);
    }

    /// <summary>Reads safetensors from a seekable stream (a model zip entry in memory); <paramref name="name"/> names it in
    /// errors. The file owns the stream from here on.</summary>
    public static SafeTensorsFile Open(Stream stream, string name)
    {
        string path = name;
        try
        {
            long fileLength = stream.Length;
            if (fileLength < 8)
                throw Corrupt(path, $"the file is {fileLength} bytes long, shorter than the 8-byte header length");
            Span<byte> lenBytes = stackalloc byte[8];
            stream.ReadExactly(lenBytes);
            long headerLength = BitConverter.ToInt64(lenBytes);
            if (headerLength <= 0 || headerLength > MaxHeaderBytes || 8 + headerLength > fileLength)
                throw Corrupt(path, $"the header length {headerLength} does not fit in a file of {fileLength} bytes");
            var header = new byte[headerLength];
            stream.ReadExactly(header);
            long dataLength = fileLength - 8 - headerLength;
            var (tensors, metadata) = ParseHeader(path, header, dataLength);
            return new SafeTensorsFile(path, stream, 8 + headerLength, tensors, metadata);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static (Dictionary<string, SafeTensorInfo>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataLength)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw Corrupt(path, $"the JSON header does not parse ({e.Message})", inner: e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw Corrupt(path, "the JSON header is not an object");
            var tensors = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind == JsonValueKind.Object)
                        foreach (var m in prop.Value.EnumerateObject())
                            metadata[m.Name] = m.Value.ToString();
                    continue;
                }
                try
                {
                    string dtype = prop.Value.GetProperty("dtype").GetString() ?? "";
                    long[] shape = prop.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                    long[] offsets = prop.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                    if (offsets.Length != 2)
                        throw Corrupt(path, $"tensor '{prop.Name}' has {offsets.Length} data offsets, expected 2", prop.Name);
                    var info = new SafeTensorInfo(prop.Name, dtype, shape, offsets[0], offsets[1]);
                    int elementSize = ElementSize(path, info);
                    if (shape.Any(d => d < 0))
                        throw Corrupt(path, $"tensor '{prop.Name}' has a negative dimension in shape [{string.Join(", ", shape)}]", prop.Name);
                    if (info.Begin < 0 || info.End < info.Begin || info.End > dataLength)
                        throw Corrupt(path, $"tensor '{prop.Name}' spans bytes [{info.Begin}, {info.End}) but the data section holds {dataLength} bytes (truncated file?)", prop.Name);
                    if (info.End - info.Begin != info.ElementCount * elementSize)
                        throw Corrupt(path, $"tensor '{prop.Name}' of dtype {dtype} and shape [{string.Join(", ", shape)}] needs {info.ElementCount * elementSize} bytes but its offsets span {info.End - info.Begin}", prop.Name);
                    tensors.Add(prop.Name, info);
                }
                catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
                {
                    throw Corrupt(path, $"the header entry for tensor '{prop.Name}' is malformed ({e.Message})", prop.Name, e);
                }
            }
            return (tensors, metadata);
        }
    }

    private static int ElementSize(string path, SafeTensorInfo info) => info.DType switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" => 1,
        _ => throw Corrupt(path, $"tensor '{info.Name}' has unsupported dtype '{info.DType}'", info.Name),
    };

    private static ScalarType StorageType(string path, SafeTensorInfo info) => info.DType switch
    {
        "F64" => ScalarType.Float64,
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "I16" => ScalarType.Int16,
        "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => throw Corrupt(path, $"tensor '{info.Name}' has dtype '{info.DType}', which TorchSharp cannot hold", info.Name),
    };

    /// <summary>
    /// Reads one tensor onto the CPU. Floating-point tensors are converted to <paramref name="floatType"/>
    /// (fp32 by default: fp16/bf16 checkpoints are trained and run in fp32 master weights).
    /// </summary>
    public Tensor Read(string name, ScalarType? floatType = ScalarType.Float32)
    {
        if (!Tensors.TryGetValue(name, out var info))
            throw new CheckpointException($"Tensor '{name}' is not in '{FilePath}'.", FilePath, name);
        var storage = StorageType(FilePath, info);
        var bytes = new byte[info.End - info.Begin];
        lock (stream)
        {
            stream.Position = dataStart + info.Begin;
            stream.ReadExactly(bytes);
        }
        var t = torch.empty(info.Shape, storage);
        if (bytes.Length > 0)
            t.bytes = bytes;
        if (floatType is { } ft && t.is_floating_point() && storage != ft)
        {
            var converted = t.to_type(ft);
            t.Dispose();
            return converted;
        }
        return t;
    }

    public void Dispose() => stream.Dispose();

    private static CheckpointException Corrupt(string path, string what, string? key = null, Exception? inner = null) =>
        new($"Safetensors file '{path}' is corrupt: {what}.", path, key, inner);
}
