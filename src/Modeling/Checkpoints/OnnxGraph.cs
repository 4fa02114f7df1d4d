using MlNetLlm.Tokenization;
using Onnx;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Checkpoints;

/// <summary>The parts of an ONNX graph the import reads: initializers, Constant outputs, producers and consumers.</summary>
internal sealed class OnnxGraph
{
    private readonly Dictionary<string, NodeProto> _producers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorProto> _constants = new(StringComparer.Ordinal);
    private readonly string _source;
    private readonly string? _externalFolder;

    public OnnxGraph(GraphProto graph, string source, string? externalFolder)
    {
        _source = source;
        _externalFolder = externalFolder;
        Initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        Nodes = graph.Node.ToList();
        foreach (var n in Nodes)
        {
            foreach (var o in n.Output) _producers[o] = n;
            foreach (var i in n.Input)
            {
                if (!_consumers.TryGetValue(i, out var list)) _consumers[i] = list = new List<NodeProto>();
                list.Add(n);
            }
            if (n.OpType == "Constant" && n.Attribute.FirstOrDefault(a => a.Name == "value")?.T is { } value)
                _constants[n.Output[0]] = value;
        }
    }

    public Dictionary<string, TensorProto> Initializers { get; }
    public List<NodeProto> Nodes { get; }

    public NodeProto? Producer(string output) => _producers.GetValueOrDefault(output);
    public IEnumerable<NodeProto> Consumers(string input) => _consumers.GetValueOrDefault(input) ?? [];

    /// <summary>Integer values of a constant, an initializer, or a Concat of them; an unknown (dynamic) element reads -1.</summary>
    public long[]? ResolveInts(string name, int depth = 0)
    {
        if (ConstantTensor(name) is { } t)
            return t.DataType is OnnxEncoderImport.OnnxInt64 or OnnxEncoderImport.OnnxInt32 ? ReadInts(t) : null;
        var node = Producer(name);
        if (node is null || depth > 4) return null;
        if (node.OpType == "Concat")
        {
            var parts = new List<long>();
            foreach (var input in node.Input)
                parts.AddRange(ResolveInts(input, depth + 1) ?? [-1]);
            return parts.ToArray();
        }
        return null;
    }

    public float[]? ResolveFloats(string name) =>
        ConstantTensor(name) is { DataType: OnnxEncoderImport.OnnxFloat } t ? ToFloats(t) : null;

    private TensorProto? ConstantTensor(string name) =>
        Initializers.TryGetValue(name, out var t) ? t : _constants.GetValueOrDefault(name);

    public Tensor ToTensor(TensorProto t)
    {
        var data = ToFloats(t);
        long[] dims = t.Dims.ToArray();
        if (data.LongLength != dims.Aggregate(1L, (a, b) => a * b))
            throw new CheckpointException($"'{_source}': initializer '{t.Name}' holds {data.LongLength} values but its shape is [{string.Join(", ", dims)}] (truncated or corrupt file).", _source, t.Name);
        return tensor(data, dims, ScalarType.Float32);
    }

    private float[] ToFloats(TensorProto t)
    {
        if (t.FloatData.Count > 0) return t.FloatData.ToArray();
        var raw = RawBytes(t);
        if (raw.Length % 4 != 0)
            throw new CheckpointException($"'{_source}': initializer '{t.Name}' has {raw.Length} bytes of float data, not a multiple of 4.", _source, t.Name);
        var result = new float[raw.Length / 4];
        Buffer.BlockCopy(raw, 0, result, 0, raw.Length);
        return result;
    }

    private long[] ReadInts(TensorProto t)
    {
        if (t.Int64Data.Count > 0) return t.Int64Data.ToArray();
        if (t.Int32Data.Count > 0) return t.Int32Data.Select(i => (long)i).ToArray();
        var raw = RawBytes(t);
        return t.DataType == OnnxEncoderImport.OnnxInt64
            ? Enumerable.Range(0, raw.Length / 8).Select(i => BitConverter.ToInt64(raw, i * 8)).ToArray()
            : Enumerable.Range(0, raw.Length / 4).Select(i => (long)BitConverter.ToInt32(raw, i * 4)).ToArray();
    }

    private byte[] RawBytes(TensorProto t)
    {
        if (t.DataLocation != TensorProto.Types.DataLocation.External) return t.RawData.ToByteArray();
        // Large exports keep initializers in a side file: location (relative to the model), offset, length.
        var entries = t.ExternalData.ToDictionary(e => e.Key, e => e.Value);
        if (_externalFolder is null || !entries.TryGetValue("location", out var location))
            throw new CheckpointException($"'{_source}': initializer '{t.Name}' is stored in an external data file that cannot be located.", _source, t.Name);
        string path = Path.Combine(_externalFolder, location);
        if (!File.Exists(path))
            throw new CheckpointException($"'{_source}': initializer '{t.Name}' is stored in '{path}', which does not exist.", path, t.Name);
        long offset = entries.TryGetValue("offset", out var o) ? long.Parse(o) : 0;
        using var fs = File.OpenRead(path);
        long length = entries.TryGetValue("length", out var l) ? long.Parse(l) : fs.Length - offset;
        if (offset + length > fs.Length)
            throw new CheckpointException($"'{path}' is too short for initializer '{t.Name}' (needs bytes {offset}..{offset + length}, has {fs.Length}).", path, t.Name);
        var buffer = new byte[length];
        fs.Seek(offset, SeekOrigin.Begin);
        fs.ReadExactly(buffer);
        return buffer;
    }
}
