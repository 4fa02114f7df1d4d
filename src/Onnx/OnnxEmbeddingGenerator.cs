using Microsoft.Extensions.AI;
using MlNetLlm.MlNet;

namespace MlNetLlm.Onnx;

/// <summary>
/// An exported embedding model behind Microsoft.Extensions.AI's <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>,
/// so semantic search and RAG code written against the abstraction runs on ONNX Runtime without libtorch.
/// </summary>
public sealed class OnnxEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly LocalEmbeddingGenerator _core;

    public OnnxEmbeddingGenerator(OnnxTextEmbeddingTransformer transformer, bool ownsTransformer = false) =>
        _core = new(transformer.Embed, transformer.Dimension,
            new EmbeddingGeneratorMetadata("MlNetLlm.Onnx", providerUri: null, defaultModelId: transformer.Manifest.Encoder, defaultModelDimensions: transformer.Dimension),
            transformer, ownsTransformer ? transformer : null);

    /// <summary>Opens an export folder; <paramref name="normalize"/> null keeps the exported setting.</summary>
    public static OnnxEmbeddingGenerator FromFolder(string modelFolder, bool? normalize = null, int? threads = null) =>
        new(new OnnxTextEmbeddingEstimator(new OnnxTextEmbeddingOptions { ModelFolder = modelFolder, Normalize = normalize, Threads = threads }).Create(), ownsTransformer: true);

    public EmbeddingGeneratorMetadata Metadata => _core.Metadata;

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        _core.GenerateAsync(values, options, cancellationToken);

    public object? GetService(Type serviceType, object? serviceKey = null) => _core.GetService(this, serviceType, serviceKey);

    public void Dispose() => _core.Dispose();
}
