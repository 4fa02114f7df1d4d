using Microsoft.Extensions.AI;

namespace MlNetLlm.Transforms.Embeddings;

/// <summary>
/// The same embeddings behind Microsoft.Extensions.AI's <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>, so semantic
/// search and RAG code written against the abstraction runs on a local checkpoint.
/// </summary>
public sealed class TransformerEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly TextEmbeddingTransformer _transformer;
    private readonly bool _ownsTransformer;

    public TransformerEmbeddingGenerator(TextEmbeddingTransformer transformer, bool ownsTransformer = false)
    {
        _transformer = transformer;
        _ownsTransformer = ownsTransformer;
        Metadata = new EmbeddingGeneratorMetadata("MlNetLlm", providerUri: null, defaultModelId: transformer.Spec.Body.Transformer?.ModelType ?? transformer.Spec.Body.Encoder.ToString(),
            defaultModelDimensions: transformer.Dimension);
    }

    /// <summary>Loads a checkpoint folder with the given pooling (mean by default) and L2 normalisation.</summary>
    public static TransformerEmbeddingGenerator FromCheckpoint(string checkpointPath, TextEmbeddingOptions? options = null)
    {
        options ??= new TextEmbeddingOptions { Normalize = true };
        options.CheckpointPath = checkpointPath;
        return new TransformerEmbeddingGenerator(TextEmbeddingEstimator.Create(options), ownsTransformer: true);
    }

    public EmbeddingGeneratorMetadata Metadata { get; }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var texts = values.ToList();
        if (options?.Dimensions is { } d && d != _transformer.Dimension)
            throw new ArgumentException($"This model produces {_transformer.Dimension}-dimensional embeddings; {d} were asked for.", nameof(options));
        cancellationToken.ThrowIfCancellationRequested();
        var vectors = _transformer.Embed(texts);
        var result = new GeneratedEmbeddings<Embedding<float>>(vectors.Select(v => new Embedding<float>(v) { ModelId = Metadata.DefaultModelId, CreatedAt = DateTimeOffset.UtcNow }));
        return Task.FromResult(result);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : serviceKey is null && serviceType == typeof(EmbeddingGeneratorMetadata) ? Metadata
        : serviceKey is null && serviceType == typeof(TextEmbeddingTransformer) ? _transformer
        : null;

    public void Dispose()
    {
        if (_ownsTransformer) _transformer.Dispose();
    }
}
