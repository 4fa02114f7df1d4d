using System.Text.Json;
using Microsoft.ML.Runtime;
using MlNetLlm.MlNet;
using MlNetLlm.MlNet.Persistence;
using MlNetLlm.Tokenization;

namespace MlNetLlm.Onnx;

/// <summary>
/// A text classifier or regressor exported by MlNetLlm, scored by ONNX Runtime. It adds the columns the TorchSharp
/// model adds (<see cref="PredictionColumns"/>), so ML.NET's evaluators, MapKeyToValue and PredictionEngine work
/// unchanged: multiclass Score (probabilities) and PredictedLabel (key); binary Score, Probability and PredictedLabel;
/// regression Score. Saved into an ML.NET model zip with its graph, manifest and tokenizer files.
/// </summary>
public sealed class OnnxTextPredictionTransformer : TextScoringTransformer, IDisposable
{
    private readonly OnnxTextSession _session;
    private readonly IReadOnlyList<OutputColumn> _outputs;

    internal OnnxTextPredictionTransformer(OnnxTextSession session, IReadOnlyList<string> textColumns, int batchSize)
        : base(textColumns, batchSize)
    {
        if (session.Manifest.Kind != OnnxTextModelManifest.PredictionKind)
            throw new ArgumentException($"The exported model is an {session.Manifest.Kind} model, not a classifier or regressor: score it with OnnxTextEmbedding.");
        if (textColumns.Count != session.Manifest.TextColumns.Length)
            throw new ArgumentException($"The exported model reads {session.Manifest.TextColumns.Length} text column(s) ({string.Join(", ", session.Manifest.TextColumns)}); {textColumns.Count} were given.");
        _session = session;
        var m = session.Manifest;
        _outputs = m.Task switch
        {
            "Multiclass" => PredictionColumns.Multiclass(m.LabelNames, m.ScoreColumnName, m.PredictedLabelColumnName),
            "Binary" => PredictionColumns.Binary(m.ScoreColumnName, m.PredictedLabelColumnName),
            _ => PredictionColumns.Regression(m.ScoreColumnName),
        };
    }

    /// <summary>What the export says of the model: task, class names, maximum length, quantization.</summary>
    internal OnnxTextModelManifest Manifest => _session.Manifest;
    /// <summary>The tokenizer the model was trained with, rebuilt from the exported files.</summary>
    public TextTokenizer Tokenizer => _session.Tokenizer;
    public override IReadOnlyList<OutputColumn> OutputColumns => _outputs;

    public override Array[] ScoreBatch(IReadOnlyList<string[]> rows)
    {
        var encoded = rows.Select(r => _session.Encode(r[0], r.Length > 1 ? r[1] : null)).ToList();
        var raw = _session.Run(encoded, BatchSize);
        PredictionColumns.CheckFinite(raw);
        return Manifest.Task switch
        {
            "Multiclass" => PredictionColumns.FromMulticlassLogits(raw),
            "Binary" => PredictionColumns.FromBinaryLogits(raw),
            _ => PredictionColumns.FromStandardizedValues(raw, Manifest.LabelMean, Manifest.LabelStd),
        };
    }

    protected override void SaveState(ModelWriter writer) => OnnxModelEntries.Write(writer, _session, TextColumns, BatchSize);

    // Called by the persistence dispatcher when mlContext.Model.Load meets this type.
    private static OnnxTextPredictionTransformer LoadState(IHostEnvironment env, ModelReader reader)
    {
        var (session, settings) = OnnxModelEntries.Read(reader);
        return new OnnxTextPredictionTransformer(session, settings.TextColumns, settings.BatchSize);
    }

    public void Dispose() => _session.Dispose();
}

/// <summary>How an ONNX scorer is stored in a model zip: the graph, the manifest and the tokenizer files as exported,
/// plus the scorer's own settings (columns, batch size, threads).</summary>
internal static class OnnxModelEntries
{
    private const string GraphEntry = "onnx/model.onnx", ManifestEntry = "onnx/manifest.json", TokenizerPrefix = "onnx/tokenizer/", SettingsEntry = "onnx/scoring.json";

    internal sealed record Settings(string[] TextColumns, int BatchSize, int? Threads, string? OutputColumn = null, bool Normalize = false);

    public static void Write(ModelWriter writer, OnnxTextSession session, IReadOnlyList<string> textColumns, int batchSize, string? outputColumn = null, bool normalize = false)
    {
        writer.WriteBytes(ManifestEntry, JsonSerializer.SerializeToUtf8Bytes(session.Manifest, OnnxTextModelManifest.Json));
        writer.WriteBytes(GraphEntry, session.Graph);
        writer.WriteFiles(TokenizerPrefix, session.TokenizerFiles);
        writer.WriteJson(SettingsEntry, new Settings([.. textColumns], batchSize, session.Threads, outputColumn, normalize));
    }

    public static (OnnxTextSession Session, Settings Settings) Read(ModelReader reader)
    {
        var manifest = OnnxTextModelManifest.Read(reader.ReadBytes(ManifestEntry), $"model zip entry '{ManifestEntry}'");
        var settings = reader.ReadJson<Settings>(SettingsEntry);
        var session = OnnxTextSession.Create(manifest, reader.ReadBytes(GraphEntry), reader.ReadFiles(TokenizerPrefix), "the model zip", settings.Threads);
        return (session, settings);
    }
}
