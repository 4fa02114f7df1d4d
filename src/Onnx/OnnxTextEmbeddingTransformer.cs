using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MlNetLlm.MlNet;
using MlNetLlm.MlNet.Persistence;
using MlNetLlm.Tokenization;

namespace MlNetLlm.Onnx;

/// <summary>
/// Text → embedding vector from an embedding model exported by MlNetLlm (a checkpoint, a bundled model, or a saved
/// embedding transform), scored by ONNX Runtime: the pooling is in the graph, unit-length scaling here. An empty text
/// gets the vector of the special tokens alone, as with the TorchSharp transform.
/// </summary>
public sealed class OnnxTextEmbeddingTransformer : TextScoringTransformer, IDisposable
{
    private readonly OnnxTextSession _session;
    private readonly OutputColumn[] _outputs;

    internal OnnxTextEmbeddingTransformer(OnnxTextSession session, string inputColumn, string outputColumn, bool normalize, int batchSize)
        : base([inputColumn], batchSize)
    {
        if (session.Manifest.Kind != OnnxTextModelManifest.EmbeddingKind)
            throw new ArgumentException($"The exported model is a {session.Manifest.Task?.ToLowerInvariant()} {session.Manifest.Kind} model, not an embedding model: score it with OnnxTextPrediction " +
                                        "(or export the checkpoint itself, or a zip with an embedding transform, for embeddings).");
        _session = session;
        OutputColumn = outputColumn;
        Normalize = normalize;
        int dim = session.Manifest.OutputSize;
        var slotNames = Enumerable.Range(0, dim).Select(i => $"dim{i}").ToArray();
        _outputs = [new OutputColumn(outputColumn, new VectorDataViewType(NumberDataViewType.Single, dim), SchemaShapes.NamesAnnotation(SchemaShapes.SlotNamesKind, slotNames))];
    }

    internal OnnxTextModelManifest Manifest => _session.Manifest;
    public TextTokenizer Tokenizer => _session.Tokenizer;
    public string OutputColumn { get; }
    /// <summary>Whether vectors are scaled to unit L2 length.</summary>
    public bool Normalize { get; }
    /// <summary>Length of every embedding vector.</summary>
    public int Dimension => _session.Manifest.OutputSize;
    public override IReadOnlyList<OutputColumn> OutputColumns => _outputs;

    /// <summary>Embeds texts directly (no IDataView): one vector per text, in order.</summary>
    public float[][] Embed(IReadOnlyList<string> texts)
    {
        var vectors = _session.Run(texts.Select(t => _session.Encode(t ?? "")).ToList(), BatchSize);
        return Normalize ? EmbeddingVectors.NormalizeL2(vectors) : vectors;
    }

    public override Array[] ScoreBatch(IReadOnlyList<string[]> rows) => EmbeddingVectors.AsColumn(Embed(rows.Select(r => r[0]).ToList()));

    protected override void SaveState(ModelWriter writer) => OnnxModelEntries.Write(writer, _session, TextColumns, BatchSize, OutputColumn, Normalize);

    private static OnnxTextEmbeddingTransformer LoadState(IHostEnvironment env, ModelReader reader)
    {
        var (session, settings) = OnnxModelEntries.Read(reader);
        return new OnnxTextEmbeddingTransformer(session, settings.TextColumns[0], settings.OutputColumn ?? "Embedding", settings.Normalize, settings.BatchSize);
    }

    public void Dispose() => _session.Dispose();
}
