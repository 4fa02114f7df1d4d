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
internal static class Autocast
{
    [ThreadStatic] private static Scope? _current;

    /// <summary>The type matrix products are computed in on this thread, or null outside a bf16 scope.</summary>
    public static ScalarType? ComputeType => _current?.Type;

    /// <summary>
    /// Runs what follows (on this thread, until disposed) in <paramref name="resolved"/> precision (Fp32 or Bf16; Fp32
    /// does nothing). Training: no cache, the copies are made in each forward pass (weights change every step).
    /// </summary>
    public static IDisposable Enter(Precision resolved) => Enter(resolved, null, ownsCache: false);

    /// <summary>
    /// As <see cref="Enter(Precision)"/>, for inference under no_grad: each weight's bf16 copy is made once and kept in
    /// <paramref name="weights"/> (a frozen model's cache, kept across calls) or, when null, for this scope only.
    /// </summary>
    public static IDisposable Enter(Precision resolved, WeightCache? weights) => Enter(resolved, weights ?? new WeightCache(), ownsCache: weights is null);

    private static IDisposable Enter(Precision resolved, WeightCache? weights, bool ownsCache)
    {
        var type = PrecisionSupport.ComputeType(resolved);
        var previous = _current;
        if (type == ScalarType.Float32)
        {
            if (ownsCache) weights!.Dispose();
            _current = null;
            return new Restore(previous, null);
        }
        var scope = new Scope(type, weights, ownsCache);
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
    /// stacked weights: a 384→1152 product runs nearer the bf16 peak than three 384→384 ones. Outside a scope, the
    /// three layers themselves (fp32 numbers stay exactly those of the unfused layers).
    /// </summary>
    public static (Tensor, Tensor, Tensor) Linear3(Linear a, Linear b, Linear c, Tensor x)
    {
        if (_current is not { } s) return (Linear(a, x), Linear(b, x), Linear(c, x));
        var weight = s.Stacked(a.weight!, () => cat([a.weight!, b.weight!, c.weight!], 0));
        var bias = a.bias is null || b.bias is null || c.bias is null ? null : s.Stacked(a.bias, () => cat([a.bias, b.bias, c.bias], 0));
        var parts = nn.functional.linear(Input(x), weight, bias).chunk(3, -1);
        return (parts[0], parts[1], parts[2]);
    }

    /// <summary>The additive attention mask in the type attention will run in (bf16 can't hold fp32's most negative value).</summary>
    public static ScalarType MaskType(ScalarType hiddenType) => _current?.Type ?? hiddenType;

    /// <summary>
    /// bf16 copies of a model's weights for inference. A transformer whose weights no longer change (trained, or loaded
    /// from a zip) keeps one for its life, so each batch does not cast every weight again; it costs half the memory of
    /// the weights it copies. Safe for several threads. Dispose it with the model.
    /// </summary>
    public sealed class WeightCache : IDisposable
    {
        private readonly Dictionary<(Tensor, bool, ScalarType), Tensor> _copies = new(new KeyComparer());
        private readonly object _gate = new();

        internal Tensor GetOrAdd(Tensor key, bool stacked, ScalarType type, Func<Tensor> make)
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_copies.TryGetValue((key, stacked, type), out var copy)) return copy;
                using (no_grad())
                using (var source = make())
                    copy = source.to_type(type).DetachFromDisposeScope();
                _copies[(key, stacked, type)] = copy;
                return copy;
            }
        }

        private bool _disposed;

        public void Dispose()
        {
            lock (_gate)
            {
                if (_disposed) return;
                _disposed = true;
                foreach (var t in _copies.Values) t.Dispose();
                _copies.Clear();
            }
        }

        private sealed class KeyComparer : IEqualityComparer<(Tensor, bool, ScalarType)>
        {
            public bool Equals((Tensor, bool, ScalarType) a, (Tensor, bool, ScalarType) b) => ReferenceEquals(a.Item1, b.Item1) && a.Item2 == b.Item2 && a.Item3 == b.Item3;
            public int GetHashCode((Tensor, bool, ScalarType) k) => HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(k.Item1), k.Item2, k.Item3);
        }
    }

    private sealed class Scope(ScalarType type, WeightCache? weights, bool ownsWeights)
    {
        public ScalarType Type { get; } = type;

        public Tensor Cast(Tensor parameter) =>
            weights is null ? parameter.to_type(Type) : weights.GetOrAdd(parameter, false, Type, () => parameter.alias());

        /// <summary>The compute-type copy of weights stacked by <paramref name="stack"/>, cached under the first one.</summary>
        public Tensor Stacked(Tensor first, Func<Tensor> stack) =>
            weights is null ? stack().to_type(Type) : weights.GetOrAdd(first, true, Type, stack);

        public void Dispose()
        {
            if (ownsWeights) weights?.Dispose();
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
