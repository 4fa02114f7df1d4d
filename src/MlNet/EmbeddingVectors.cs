using Microsoft.Extensions.AI;
using Microsoft.ML.Data;

namespace MlNetLlm.MlNet;

/// <summary>What both embedding transforms (a checkpoint through TorchSharp, an ONNX export through ONNX Runtime) do
/// with the vectors their encoder returns, so the two cannot drift apart.</summary>
internal static class EmbeddingVectors
{
    /// <summary>Scales each vector to unit L2 norm in place (a zero vector stays zero) and returns them.</summary>
    public static float[][] NormalizeL2(float[][] vectors)
    {
        foreach (var v in vectors)
        {
            float norm = MathF.Sqrt(v.Sum(x => x * x));
            if (norm > 0) for (int i = 0; i < v.Length; i++) v[i] /= norm;
        }
        return vectors;
    }

    /// <summary>The one output column a <see cref="TextScoringTransformer.ScoreBatch"/> of embeddings returns.</summary>
    public static Array[] AsColumn(float[][] vectors) => [vectors.Select(v => new VBuffer<float>(v.Length, v)).ToArray()];
}

/// <summary>
/// The <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> plumbing both public generators delegate to: the dimension
/// check, cancellation, the metadata, GetService and disposing the model when the generator owns it.
/// </summary>
internal sealed class LocalEmbeddingGenerator(Func<IReadOnlyList<string>, float[][]> embed, int dimension, EmbeddingGeneratorMetadata metadata,
    object model, IDisposable? owned)
{
    public EmbeddingGeneratorMetadata Metadata { get; } = metadata;

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options, CancellationToken cancellationToken)
    {
        var texts = values.ToList();
        if (options?.Dimensions is { } d && d != dimension)
            throw new ArgumentException($"This model produces {dimension}-dimensional embeddings; {d} were asked for.", nameof(options));
        cancellationToken.ThrowIfCancellationRequested();
        var vectors = embed(texts);
        return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(
            vectors.Select(v => new Embedding<float>(v) { ModelId = Metadata.DefaultModelId, CreatedAt = DateTimeOffset.UtcNow })));
    }

    /// <summary>The generator itself, its metadata, or the transformer behind it.</summary>
    public object? GetService(object generator, Type serviceType, object? serviceKey) =>
        serviceKey is not null ? null
        : serviceType.IsInstanceOfType(generator) ? generator
        : serviceType == typeof(EmbeddingGeneratorMetadata) ? Metadata
        : serviceType == model.GetType() ? model
        : null;

    public void Dispose() => owned?.Dispose();
}
