using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Runtime;

/// <summary>
/// Mixed precision for this project's encoders, since TorchSharp has no torch.autocast: inside <see cref="Enter"/>
/// with bf16, linear layers multiply bf16 copies of their input, weight and bias (<see cref="Linear"/>) and attention
/// runs on bf16 q/k/v. The parameters stay fp32 (master weights): the copies are made inside the forward pass, so
/// autograd casts their gradients back and the optimizer updates fp32 tensors with fp32 state. Whatever reads an
/// activation beside a matrix product keeps fp32: residual sums (bf16 + fp32 promotes to fp32), layer norms, pooling,
/// the head and the loss. The scope is per thread; outside one (or with fp32) every call is the plain fp32 layer.
/// </summary>
public static class Autocast
{
    [ThreadStatic] private static Scope? _current;

    /// <summary>The type matrix products are computed in on this thread, or null outside a bf16 scope.</summary>
    public static ScalarType? ComputeType => _current?.Type;

    /// <summary>
    /// Runs what follows (on this thread, until disposed) in <paramref name="resolved"/> precision (Fp32 or Bf16; Fp32
    /// does nothing). <paramref name="cacheWeights"/>: keep each weight's bf16 copy for the whole scope, for inference
    /// under no_grad, where weights do not change; never while training.
    /// </summary>
    public static IDisposable Enter(Precision resolved, bool cacheWeights = false)
    {
        var type = PrecisionSupport.ComputeType(resolved);
        var previous = _current;
        if (type == ScalarType.Float32)
        {
            _current = null;
            return new Restore(previous, null);
        }
        var scope = new Scope(type, cacheWeights);
        _current = scope;
        return new Restore(previous, scope);
    }

    /// <summary><paramref name="x"/> in the compute type (one cast where several layers read the same input).</summary>
    public static Tensor Input(Tensor x) => _current is { } s && x.dtype != s.Type ? x.to_type(s.Type) : x;

    /// <summary><paramref name="x"/> back in fp32 (what pooling, heads and losses read).</summary>
    public static Tensor Float(Tensor x) => x.dtype is ScalarType.BFloat16 or ScalarType.Float16 ? x.to_type(ScalarType.Float32) : x;

    /// <summary>The layer's product in the compute type: F.linear on copies of input, weight and bias; outside a scope, the layer itself.</summary>
    public static Tensor Linear(Linear layer, Tensor x)
    {
        if (_current is not { } s) return layer.forward(x);
        return nn.functional.linear(Input(x), s.Cast(layer.weight!), layer.bias is { } b ? s.Cast(b) : null);
    }

    /// <summary>
    /// Three linear layers of one input (attention's query, key and value) in the compute type as ONE product on their
    /// stacked weights: a 384→1152 product runs much nearer the bf16 peak than three 384→384 ones. Outside a scope,
    /// the three layers themselves (fp32 numbers stay exactly those of the unfused layers).
    /// </summary>
    public static (Tensor, Tensor, Tensor) Linear3(Linear a, Linear b, Linear c, Tensor x)
    {
        if (_current is not { } s) return (Linear(a, x), Linear(b, x), Linear(c, x));
        var weight = s.Fused(a.weight!, () => cat([a.weight!, b.weight!, c.weight!], 0));
        var bias = a.bias is null || b.bias is null || c.bias is null ? null : s.Fused(a.bias, () => cat([a.bias, b.bias, c.bias], 0));
        var parts = nn.functional.linear(Input(x), weight, bias).chunk(3, -1);
        return (parts[0], parts[1], parts[2]);
    }

    /// <summary>The additive attention mask in the type attention will run in (bf16 can't hold fp32's most negative value).</summary>
    public static ScalarType MaskType(ScalarType hiddenType) => _current?.Type ?? hiddenType;

    private sealed class Scope(ScalarType type, bool cacheWeights)
    {
        public ScalarType Type { get; } = type;
        private readonly Dictionary<Tensor, Tensor>? _cache = cacheWeights ? new(ReferenceEqualityComparer.Instance) : null;
        private readonly Dictionary<Tensor, Tensor>? _fused = cacheWeights ? new(ReferenceEqualityComparer.Instance) : null;

        /// <summary>The compute-type copy of a stacked weight, cached under its first part.</summary>
        public Tensor Fused(Tensor first, Func<Tensor> stack)
        {
            if (_fused is null) return stack().to_type(Type);
            if (!_fused.TryGetValue(first, out var copy))
            {
                using (no_grad())
                using (var stacked = stack())
                    copy = stacked.to_type(Type).DetachFromDisposeScope();
                _fused[first] = copy;
            }
            return copy;
        }

        public Tensor Cast(Tensor parameter)
        {
            if (_cache is null) return parameter.to_type(Type);
            if (!_cache.TryGetValue(parameter, out var copy))
            {
                using (no_grad())
                    copy = parameter.to_type(Type).DetachFromDisposeScope();
                _cache[parameter] = copy;
            }
            return copy;
        }

        public void Dispose()
        {
            foreach (var t in ((IEnumerable<Tensor>?)_cache?.Values ?? []).Concat((IEnumerable<Tensor>?)_fused?.Values ?? [])) t.Dispose();
            _cache?.Clear();
            _fused?.Clear();
        }
    }

    private sealed class Restore(Scope? previous, Scope? mine) : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            mine?.Dispose();
            _current = previous;
        }
    }
}
