using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet.Persistence;
using MlNetLlm.Modeling.Export;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.Estimators;

/// <summary>
/// Export to ONNX, ML.NET style: <c>mlContext.Model.ExportToOnnx(model, "exported")</c>. The folder holds the graph, the
/// tokenizer files and the manifest; MlNetLlm.Onnx scores it without TorchSharp or libtorch.
/// </summary>
public static class OnnxExportCatalog
{
    /// <summary>
    /// Exports the text model inside <paramref name="model"/>: a text classifier or regressor (TextClassifier,
    /// TextRegressor) or a TextEmbedding transform. Other steps of a chain (MapKeyToValue, ...) are ML.NET's own and are
    /// appended again after the ONNX scorer.
    /// </summary>
    public static OnnxExportResult ExportToOnnx(this ModelOperationsCatalog catalog, ITransformer model, string outputFolder, OnnxExportOptions? options = null) =>
        Export(model, null, outputFolder, options);

    /// <summary>Exports the text model of a saved model zip.</summary>
    public static OnnxExportResult ExportToOnnx(this ModelOperationsCatalog catalog, string modelZip, string outputFolder, OnnxExportOptions? options = null)
    {
        OnnxExport.CheckOutputFolder(outputFolder);
        var model = ModelFile.Load(new MLContext(), modelZip, out _);
        try
        {
            return Export(model, modelZip, outputFolder, options);
        }
        finally
        {
            foreach (var t in ModelFile.Transformers(model).OfType<IDisposable>()) t.Dispose();
        }
    }

    private static OnnxExportResult Export(ITransformer model, string? zip, string outputFolder, OnnxExportOptions? options)
    {
        string what = zip is null ? "The model" : $"'{zip}'";
        OnnxExport.CheckOutputFolder(outputFolder);
        var parts = ModelFile.Transformers(model).ToList();
        var exportable = parts.OfType<IOnnxExportable>().ToList();
        if (exportable.Count == 0)
            throw new ArgumentException($"{what} holds no MlNetLlm text model to export (a text classifier or regressor, or a text embedding transform); " +
                                        $"it holds {string.Join(", ", parts.Select(p => p.GetType().Name))}. Nothing was written.", nameof(model));
        if (exportable.Count > 1)
            throw new ArgumentException($"{what} holds {exportable.Count} MlNetLlm text models ({string.Join(", ", exportable.Select(p => p.GetType().Name))}); export them one at a time. Nothing was written.", nameof(model));
        var source = exportable[0].GetOnnxExportSource();
        if (source.Head is { Task: TaskKind.Binary } head && BinaryClassNames(parts.Skip(parts.IndexOf((ITransformer)exportable[0]) + 1)) is { } names)
            source = source with { Head = head with { LabelNames = names } };
        return OnnxExport.Export(zip is null ? source : source with { Description = $"{source.Description} in '{zip}'" }, outputFolder, options);
    }

    private sealed class PredictedRow
    {
        public bool PredictedLabel { get; set; }
    }

    /// <summary>
    /// A binary classifier predicts true or false; the classes they stand for live in the chain's later steps (the
    /// MapValue that TextTrainingJob appends). Read them by mapping false and true through those steps; null when the
    /// chain has no such step.
    /// </summary>
    private static string[]? BinaryClassNames(IEnumerable<ITransformer> after)
    {
        var ml = new MLContext();
        IDataView view = ml.Data.LoadFromEnumerable(new[] { new PredictedRow { PredictedLabel = false }, new PredictedRow { PredictedLabel = true } });
        try
        {
            foreach (var t in after) view = t.Transform(view);
            if (view.Schema.GetColumnOrNull("PredictedLabelValue") is not { Type: TextDataViewType }) return null;
            var names = view.GetColumn<ReadOnlyMemory<char>>("PredictedLabelValue").Select(v => v.ToString()).ToArray();
            return names.Length == 2 && names[0] != names[1] ? names : null;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return null; // a later step needs columns these two rows lack: no class names to learn from it
        }
    }
}
