using Microsoft.Extensions.AI;

namespace MlNetLlm.Onnx;

/// <summary>
/// An exported embedding model behind Microsoft.Extensions.AI's <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>,
/// so semantic search and RAG code written against the abstraction runs on ONNX Runtime without libtorch.
/// </summary>
public sealed class OnnxEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly OnnxTextEmbeddingTransformer _transformer;
    private readonly bool _ownsTransformer;

    public OnnxEmbeddingGenerator(OnnxTextEmbeddingTransformer transformer, bool ownsTransformer = false)
    {
        _transformer = transformer;
        _ownsTransformer = ownsTransformer;
        Metadata = new EmbeddingGeneratorMetadata("MlNetLlm.Onnx", providerUri: null, defaultModelId: transformer.Manifest.Encoder, defaultModelDimensions: transformer.Dimension);
    }

    /// <summary>Opens an export folder; <paramref name="normalize"/> null keeps the exported setting.</summary>
    public static OnnxEmbeddingGenerator FromFolder(string modelFolder, bool? normalize = null, int? threads = null) =>
        new(new OnnxTextEmbeddingEstimator(new OnnxTextEmbeddingOptions { ModelFolder = modelFolder, Normalize = normalize, Threads = threads }).Create(), ownsTransformer: true);

    public EmbeddingGeneratorMetadata Metadata { get; }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var texts = values.ToList();
        if (options?.Dimensions is { } d && d != _transformer.Dimension)
            throw new ArgumentException($"This model produces {_transformer.Dimension}-dimensional embeddings; {d} were asked for.", nameof(options));
        cancellationToken.ThrowIfCancellationRequested();
        var vectors = _transformer.Embed(texts);
        return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(
            vectors.Select(v => new Embedding<float>(v) { ModelId = Metadata.DefaultModelId, CreatedAt = DateTimeOffset.UtcNow })));
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : serviceKey is null && serviceType == typeof(EmbeddingGeneratorMetadata) ? Metadata
        : serviceKey is null && serviceType == typeof(OnnxTextEmbeddingTransformer) ? _transformer
        : null;

    public void Dispose()
    {
        if (_ownsTransformer) _transformer.Dispose();
    }
}
