using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Export;

/// <summary>A module's parameters as fp32 arrays by state-dict key (the graph writer needs no tensors).</summary>
internal sealed class ExportWeights
{
    private readonly Dictionary<string, (float[] Data, long[] Shape)> _weights;
    private readonly string _owner;

    private ExportWeights(Dictionary<string, (float[] Data, long[] Shape)> weights, string owner)
    {
        _weights = weights;
        _owner = owner;
    }

    /// <summary>Copies every floating-point entry of <paramref name="module"/>'s state dict (whatever its dtype or device) as fp32.</summary>
    public static ExportWeights From(nn.Module module, string owner)
    {
        var result = new Dictionary<string, (float[], long[])>(StringComparer.Ordinal);
        using var scope = NewDisposeScope();
        foreach (var (key, t) in module.state_dict())
        {
            if (!t.is_floating_point()) continue;
            var cpu = t.detach().to(ScalarType.Float32, CPU).contiguous();
            result[key] = (cpu.data<float>().ToArray(), cpu.shape);
        }
        return new ExportWeights(result, owner);
    }

    public bool Contains(string key) => _weights.ContainsKey(key);

    /// <summary>The weight of <paramref name="key"/>; a missing one is an error naming the key and the model.</summary>
    public (float[] Data, long[] Shape) this[string key] => _weights.TryGetValue(key, out var w) ? w
        : throw new InvalidOperationException($"{_owner} has no weight '{key}' (it has {string.Join(", ", _weights.Keys.Take(4))}, ...): its module tree is not the one the exporter writes.");

    /// <summary>A Linear weight [out, in] transposed to [in, out], the layout MatMul multiplies by.</summary>
    public float[] Transposed(string key, out long inFeatures, out long outFeatures)
    {
        var (data, shape) = this[key];
        outFeatures = shape[0];
        inFeatures = shape[1];
        var t = new float[data.Length];
        for (long o = 0; o < outFeatures; o++)
            for (long i = 0; i < inFeatures; i++)
                t[i * outFeatures + o] = data[o * inFeatures + i];
        return t;
    }
}
