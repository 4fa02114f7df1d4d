using System.CommandLine;
using System.Globalization;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Onnx;

namespace MlNetLlm.Cli.Commands;

/// <summary><c>mlnet-llm predict</c>: scores a CSV with a saved model.zip.</summary>
public sealed class PredictCommand : ICliCommand
{
    public Command Build()
    {
        var model = CliOptions.Required("--model", "model.zip written by train, or a folder export-onnx wrote (scored with ONNX Runtime).");
        var dataset = CliOptions.Required("--dataset", "CSV with the model's text column(s).");
        var output = CliOptions.Required("--output", "CSV to write: row, predicted label (or value), score.");
        var separator = CliOptions.Separator();
        var precision = new Option<string?>("--precision")
        {
            Description = "auto | fp32 | bf16 for the model's encoder; default: as the model was trained (bf16-trained models in bf16 where this CPU computes it natively).",
        };
        var cmd = new Command("predict", "Score a CSV with a saved model.") { model, dataset, output, precision, separator };
        cmd.SetAction(parse => CliErrors.Run(() => Predict(parse.GetRequiredValue(model), parse.GetRequiredValue(dataset), parse.GetRequiredValue(output), parse.GetValue(separator),
            parse.GetValue(precision) is { } p ? CliOptions.ParsePrecision(p, null) : null)));
        return cmd;
    }

    internal static int Predict(string modelPath, string datasetPath, string outputPath, char? separator = null, MlNetLlm.Modeling.Runtime.Precision? precision = null)
    {
        bool exported = OnnxTextEstimators.IsExportFolder(modelPath);
        if (!exported && !File.Exists(modelPath))
            throw new FileNotFoundException(Directory.Exists(modelPath) ? $"--model '{modelPath}' is a directory, neither a model zip nor a folder export-onnx wrote." : $"--model '{modelPath}' does not exist.", modelPath);
        OutputFiles.Check("--output", outputPath, ("--model", modelPath), ("--dataset", datasetPath));
        var ml = new MLContext();
        if (exported && precision is not null)
            throw new ArgumentException($"--precision applies to model zips with a neural text encoder; '{modelPath}' is an exported ONNX folder (ONNX Runtime computes it as exported: fp32 or int8).");
        IDataView scored;
        CsvTable table;
        if (exported)
        {
            var manifest = OnnxTextModelManifest.Read(File.ReadAllBytes(Path.Combine(modelPath, OnnxTextModelManifest.FileName)), Path.Combine(modelPath, OnnxTextModelManifest.FileName));
            if (manifest.Kind != OnnxTextModelManifest.PredictionKind)
                throw new InvalidDataException($"--model '{modelPath}' is an exported embedding model: it makes vectors, not predictions. Write them with embed --model {modelPath}.");
            table = CsvTable.Load(datasetPath, separator);
            var data = table.ToDataView(ml, textColumns: table.Header);
            scored = ExportedModels.Predictor(ml, modelPath, data).Transform(data);
        }
        else
        {
            var model = MlNetLlm.MlNet.Persistence.ModelFile.Load(ml, modelPath, out var inputSchema);
            if (model.GetOutputSchema(inputSchema).GetColumnOrNull("Score") is null) throw NotAPredictor(modelPath, model);
            if (precision is { } asked)
            {
                var neural = MlNetLlm.MlNet.Persistence.ModelFile.Transformers(model).ToList();
                foreach (var t in neural.OfType<MlNetLlm.Estimators.TextPredictionTransformer>()) t.UsePrecision(asked);
                foreach (var t in neural.OfType<MlNetLlm.Transforms.Embeddings.TextEmbeddingTransformer>()) t.UsePrecision(asked);
                if (!neural.Any(t => t is MlNetLlm.Estimators.TextPredictionTransformer or MlNetLlm.Transforms.Embeddings.TextEmbeddingTransformer))
                    throw new ArgumentException($"--precision applies to models with a neural text encoder; '{modelPath}' has none (its learners compute in ML.NET's own fp32).");
            }
            table = CsvTable.Load(datasetPath, separator);
            // Columns as the model was fitted on them: numbers where it took numbers (and the file holds numbers), text
            // otherwise (a text model's columns, and labels, whatever they look like).
            var numeric = inputSchema.Where(c => c.Type == NumberDataViewType.Single).Select(c => c.Name).ToHashSet();
            scored = model.Transform(table.ToDataView(ml, textColumns: table.Header.Where(h => !numeric.Contains(h))));
        }
        var schema = scored.Schema;
        var predicted = schema.GetColumnOrNull("PredictedLabelValue");
        var score = schema.GetColumnOrNull("Score")!.Value;
        var probability = schema.GetColumnOrNull(MlNetLlm.MlNet.PredictionColumns.Probability);
        var cols = new[] { predicted, score, probability }.Where(c => c is not null).Select(c => c!.Value).ToList();
        using var cursor = scored.GetRowCursor(cols);
        var sb = new StringBuilder(predicted is null ? "row,prediction\n" : "row,predicted_label,score\n");
        var getLabel = predicted is { } p ? cursor.GetGetter<ReadOnlyMemory<char>>(p) : null;
        Func<float> getScore = score.Type is VectorDataViewType
            ? MaxOf(cursor.GetGetter<VBuffer<float>>(score))
            : probability is { } pr ? Scalar(cursor.GetGetter<float>(pr)) : Scalar(cursor.GetGetter<float>(score));
        ReadOnlyMemory<char> labelValue = default;
        while (cursor.MoveNext())
        {
            sb.Append(cursor.Position.ToString(CultureInfo.InvariantCulture)).Append(',');
            if (getLabel is not null)
            {
                getLabel(ref labelValue);
                sb.Append(Quote(labelValue.ToString())).Append(',');
            }
            sb.Append(getScore().ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
        OutputFiles.WriteAtomically(outputPath, temp => File.WriteAllText(temp, sb.ToString()));
        Console.WriteLine($"wrote {table.Rows.Count} predictions to {outputPath}");
        return 0;
    }

    /// <summary>What the model is, when it makes no predictions, and what to do with it instead.</summary>
    private static InvalidDataException NotAPredictor(string path, ITransformer model)
    {
        var parts = MlNetLlm.MlNet.Persistence.ModelFile.Transformers(model).ToList();
        string what = parts.Any(t => t is MlNetLlm.Transforms.FeatureSelection.LlmFeatureSelectionTransformer)
            ? "a feature selection model (select-features): it turns rows into a Features vector of the kept columns for an ML.NET trainer and makes no predictions. Load it with mlContext.Model.Load and append a trainer (README: select-features)"
            : parts.Any(t => t is MlNetLlm.Transforms.Embeddings.TextEmbeddingTransformer)
                ? $"an embedding model: it makes vectors, not predictions. Write them with embed --model {path}"
                : $"not a predictor: it outputs no Score column (it holds {string.Join(", ", parts.Select(t => t.GetType().Name))})";
        return new InvalidDataException($"--model '{path}' is {what}. predict scores the model.zip that train, classification or regression wrote.");
    }

    private static Func<float> Scalar(ValueGetter<float> g) => () => { float v = 0; g(ref v); return v; };

    // Multiclass: the probability of the predicted class.
    private static Func<float> MaxOf(ValueGetter<VBuffer<float>> g) => () => { VBuffer<float> v = default; g(ref v); return v.DenseValues().Max(); };

    private static string Quote(string s) => s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
