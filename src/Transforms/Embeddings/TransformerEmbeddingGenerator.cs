using Microsoft.Extensions.AI;
using MlNetLlm.MlNet;

namespace MlNetLlm.Transforms.Embeddings;

/// <summary>
/// The same embeddings behind Microsoft.Extensions.AI's <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>, so semantic
/// search and RAG code written against the abstraction runs on a local checkpoint.
/// </summary>
public sealed class TransformerEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly LocalEmbeddingGenerator _core;

    public TransformerEmbeddingGenerator(TextEmbeddingTransformer transformer, bool ownsTransformer = false) =>
        _core = new(transformer.Embed, transformer.Dimension,
            new EmbeddingGeneratorMetadata("MlNetLlm", providerUri: null, defaultModelId: transformer.Spec.Body.Transformer?.ModelType ?? transformer.Spec.Body.Encoder.ToString(),
                defaultModelDimensions: transformer.Dimension),
            transformer, ownsTransformer ? transformer : null);

    /// <summary>Loads a checkpoint folder with the given pooling (mean by default) and L2 normalisation.</summary>
    public static TransformerEmbeddingGenerator FromCheckpoint(string checkpointPath, TextEmbeddingOptions? options = null)
    {
        options ??= new TextEmbeddingOptions { Normalize = true };
        options.CheckpointPath = checkpointPath;
        return new TransformerEmbeddingGenerator(TextEmbeddingEstimator.Create(options), ownsTransformer: true);
    }

    public EmbeddingGeneratorMetadata Metadata => _core.Metadata;

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        _core.GenerateAsync(values, options, cancellationToken);

    public object? GetService(Type serviceType, object? serviceKey = null) => _core.GetService(this, serviceType, serviceKey);

    public void Dispose() => _core.Dispose();
}
