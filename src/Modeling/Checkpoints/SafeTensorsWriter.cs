using System.Text.Json;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Checkpoints;

/// <summary>Writes tensors in the safetensors format (the same layout <see cref="SafeTensorsFile"/> reads).</summary>
internal static class SafeTensorsWriter
{
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var fs = File.Create(path);
        Write(fs, tensors, metadata);
    }

    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var items = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (metadata is { Count: > 0 })
            header["__metadata__"] = metadata;
        var payloads = new List<byte[]>(items.Count);
        long offset = 0;
        foreach (var (name, tensor) in items)
        {
            using var cpu = tensor.detach().cpu().contiguous();
            byte[] data = cpu.numel() == 0 ? Array.Empty<byte>() : cpu.bytes.ToArray();
            header[name] = new Dictionary<string, object>
            {
                ["dtype"] = DTypeName(cpu.dtype, name),
                ["shape"] = cpu.shape,
                ["data_offsets"] = new[] { offset, offset + data.Length },
            };
            offset += data.Length;
            payloads.Add(data);
        }
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        int padded = (json.Length + 7) / 8 * 8; // align the data section to 8 bytes, as the reference writer does
        var headerBytes = new byte[padded];
        json.CopyTo(headerBytes, 0);
        for (int i = json.Length; i < padded; i++) headerBytes[i] = (byte)' ';
        stream.Write(BitConverter.GetBytes((long)padded));
        stream.Write(headerBytes);
        foreach (var p in payloads) stream.Write(p);
    }

    private static string DTypeName(ScalarType t, string name) => t switch
    {
        ScalarType.Float64 => "F64",
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new ArgumentException($"Tensor '{name}' has dtype {t}, which safetensors cannot store.", nameof(t)),
    };
}
