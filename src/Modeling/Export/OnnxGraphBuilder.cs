using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MlNetLlm.Modeling.Export;

/// <summary>
/// Writes an ONNX graph node by node: named initializers, constants, fresh value names and typed inputs/outputs.
/// Knows ONNX, not transformers (<see cref="OnnxEncoderGraph"/> knows those).
/// </summary>
internal sealed class OnnxGraphBuilder
{
    /// <summary>Opset 17: LayerNormalization is a standard operator from this version on.</summary>
    public const int Opset = 17;
    /// <summary>The IR version that goes with opset 17 (ONNX 1.12).</summary>
    public const long IrVersion = 8;
    public const string MicrosoftDomain = "com.microsoft";

    private readonly GraphProto _graph;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<string> _initializers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _constants = new(StringComparer.Ordinal);
    private int _counter;

    public OnnxGraphBuilder(string name) => _graph = new GraphProto { Name = name };

    /// <summary>True once a node of the com.microsoft domain was added (the model then imports that domain).</summary>
    public bool UsesMicrosoftDomain { get; private set; }

    public void Input(string name, DataType type, params string[] symbolicDims) => _graph.Input.Add(ValueInfo(name, type, symbolicDims));

    public void Output(string name, DataType type, params string[] symbolicDims) => _graph.Output.Add(ValueInfo(name, type, symbolicDims));

    /// <summary>Adds a node and returns its (first) output, named <paramref name="output"/> or a fresh name.</summary>
    public string Node(string op, IEnumerable<string> inputs, string? output = null, string? domain = null, params AttributeProto[] attributes) =>
        Nodes(op, inputs, [output ?? Fresh(op)], domain, attributes)[0];

    /// <summary>Adds a node with several named outputs.</summary>
    public string[] Nodes(string op, IEnumerable<string> inputs, string[] outputs, string? domain = null, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = Fresh(op + "_node") };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        if (domain is not null)
        {
            node.Domain = domain;
            UsesMicrosoftDomain |= domain == MicrosoftDomain;
        }
        _graph.Node.Add(node);
        return outputs;
    }

    public string Floats(string name, ReadOnlySpan<float> data, params long[] dims) =>
        Raw(name, DataType.Float, System.Runtime.InteropServices.MemoryMarshal.AsBytes(data), dims);

    public string Int8s(string name, ReadOnlySpan<sbyte> data, params long[] dims) =>
        Raw(name, DataType.Int8, System.Runtime.InteropServices.MemoryMarshal.AsBytes(data), dims);

    /// <summary>A float scalar (or 1-element) constant, shared between uses of the same value.</summary>
    public string Scalar(float value) => Constant($"const_f_{BitConverter.SingleToInt32Bits(value):x8}", () => Floats(Fresh("const_f"), [value]));

    /// <summary>An int64 scalar constant.</summary>
    public string Int64Scalar(long value) => Constant($"const_l_{value}", () => Int64s(Fresh("const_l"), [value]));

    /// <summary>An int64 vector constant (shapes, axes).</summary>
    public string Int64Vector(params long[] values) =>
        Constant($"const_lv_{string.Join('_', values)}", () => Int64s(Fresh("const_lv"), values, values.Length));

    public static AttributeProto Attr(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };
    public static AttributeProto Attr(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Attr(string name, long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public ModelProto ToModel(string producerVersion, IReadOnlyDictionary<string, string> metadata)
    {
        var model = new ModelProto { IrVersion = IrVersion, ProducerName = "MlNetLlm", ProducerVersion = producerVersion, Graph = _graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        if (UsesMicrosoftDomain) model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        foreach (var (k, v) in metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model;
    }

    private string Int64s(string name, long[] values, params long[] dims) =>
        Raw(name, DataType.Int64, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()), dims);

    // Raw little-endian bytes (the layout ONNX's raw_data defines); this runs on little-endian machines only.
    private string Raw(string name, DataType type, ReadOnlySpan<byte> bytes, long[] dims)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX export needs a little-endian machine.");
        if (!_initializers.Add(name)) throw new InvalidOperationException($"ONNX initializer '{name}' is written twice.");
        _names.Add(name);
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        t.Dims.AddRange(dims);
        _graph.Initializer.Add(t);
        return name;
    }

    private string Constant(string key, Func<string> create)
    {
        if (!_constants.TryGetValue(key, out var name)) _constants[key] = name = create();
        return name;
    }

    private string Fresh(string stem)
    {
        string name;
        do name = $"{stem}_{_counter++}";
        while (!_names.Add(name));
        return name;
    }

    private static ValueInfoProto ValueInfo(string name, DataType type, string[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(long.TryParse(d, out long fixedSize) ? new TensorShapeProto.Types.Dimension { DimValue = fixedSize } : new TensorShapeProto.Types.Dimension { DimParam = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }
}
