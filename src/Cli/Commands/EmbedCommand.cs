using System.CommandLine;
using System.Globalization;
using System.Text;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Modeling.Training;
using MlNetLlm.Transforms.Embeddings;
using Parquet;
using Parquet.Schema;
using Spectre.Console;

namespace MlNetLlm.Cli.Commands;

/// <summary><c>mlnet-llm embed</c>: text column → embedding vectors in CSV or Parquet.</summary>
public sealed class EmbedCommand : ICliCommand
{
    public Command Build()
    {
        var model = CliOptions.Required("--model", "Checkpoint folder, a model.zip with an embedding transform or a text classifier, or a folder export-onnx wrote from one (scored with ONNX Runtime).");
        var dataset = CliOptions.Required("--dataset", "Input CSV.");
        var textCol = CliOptions.Required("--text-col", "Column to embed.");
        var output = CliOptions.Required("--output", "Output file: .csv or .parquet.");
        var pooling = new Option<Pooling?>("--pooling") { Description = "Mean, Cls, Max or Pooler (default: Mean for a checkpoint, the model's own for a zip; an LSTM's zip pools mean and max and takes none)." };
        var normalize = new Option<bool>("--normalize") { Description = "L2-normalise each vector." };
        var vectorColumn = new Option<bool>("--vector-column") { Description = "CSV only: one 'embedding' column of space-separated numbers instead of one column per dimension." };
        var maxLength = new Option<int?>("--max-length") { Description = "Tokens per text (default: 256 for a checkpoint, up to its positions; the model's own for a zip)." };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 32 };
        var precision = CliOptions.Precision();
        var separator = CliOptions.Separator();
        var cmd = new Command("embed", "Embed a text column with a transformer encoder.") { model, dataset, textCol, output, pooling, normalize, vectorColumn, maxLength, batch, precision, separator };
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            if (!parse.GetRequiredValue(output).EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
                CliOptions.RefuseGiven(parse, "shapes CSV output; a .parquet file has one column per dimension", vectorColumn);
            return Embed(parse.GetRequiredValue(model), parse.GetRequiredValue(dataset), parse.GetRequiredValue(textCol), parse.GetRequiredValue(output),
            new TextEmbeddingOptions { Pooling = parse.GetValue(pooling), Normalize = parse.GetValue(normalize), MaxLength = parse.GetValue(maxLength), BatchSize = parse.GetValue(batch), Precision = parse.GetValue(precision) },
            parse.GetValue(vectorColumn), parse.GetValue(separator));
        }));
        return cmd;
    }

    internal static int Embed(string modelPath, string datasetPath, string textColumn, string outputPath, TextEmbeddingOptions options, bool vectorColumn, char? separator = null)
    {
        if (!outputPath.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) && !outputPath.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"--output '{outputPath}' must end in .csv or .parquet.");
        OutputFiles.Check("--output", outputPath, ("--model", modelPath), ("--dataset", datasetPath));
        var table = CsvTable.Load(datasetPath, separator);
        var texts = table.Column(table.Header[table.ColumnIndex(textColumn, "--text-col")]);
        using var embedder = Open(modelPath, options);
        var vectors = new float[texts.Length][];
        const int chunk = 256;
        void Run(Action<int>? advance)
        {
            for (int start = 0; start < texts.Length; start += chunk)
            {
                var part = texts.Skip(start).Take(chunk).ToList();
                embedder.Embed(part).CopyTo(vectors, start);
                advance?.Invoke(part.Count);
            }
        }
        if (AnsiConsole.Profile.Capabilities.Interactive)
            AnsiConsole.Progress().Start(ctx =>
            {
                var task = ctx.AddTask("embedding", maxValue: texts.Length);
                Run(n => task.Increment(n));
            });
        else
            Run(null);

        OutputFiles.WriteAtomically(outputPath, temp =>
        {
            if (outputPath.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase))
                WriteParquet(temp, vectors, embedder.Dimension).GetAwaiter().GetResult();
            else
                WriteCsv(temp, vectors, embedder.Dimension, vectorColumn);
        });
        AnsiConsole.MarkupLineInterpolated($"wrote {texts.Length} embeddings of dimension {embedder.Dimension} to [green]{outputPath}[/] ({embedder.Computed})");
        return 0;
    }

    /// <summary>The TorchSharp embedder of a checkpoint or zip, or the ONNX Runtime one of an exported folder.</summary>
    private sealed class Embedder(Func<IReadOnlyList<string>, float[][]> embed, int dimension, string computed, IDisposable owner) : IDisposable
    {
        public int Dimension => dimension;
        /// <summary>How the vectors were computed (the precision and why), for the closing line.</summary>
        public string Computed => computed;
        public float[][] Embed(IReadOnlyList<string> texts) => embed(texts);
        public void Dispose() => owner.Dispose();
    }

    private static Embedder Open(string modelPath, TextEmbeddingOptions options)
    {
        if (MlNetLlm.Onnx.OnnxTextEstimators.IsExportFolder(modelPath))
        {
            var onnx = ExportedModels.Embedder(modelPath, options);
            return new Embedder(onnx.Embed, onnx.Dimension, $"ONNX Runtime, {(onnx.Manifest.Quantization == "Int8" ? "int8" : "fp32")} as exported", onnx);
        }
        var torch = TextEmbeddingSource.Open(modelPath, options);
        return new Embedder(torch.Embed, torch.Dimension, $"{torch.Precision.Name}: {torch.Precision.Reason}", torch);
    }

    private static void WriteCsv(string path, float[][] vectors, int dim, bool vectorColumn)
    {
        var sb = new StringBuilder();
        sb.Append("row,").AppendJoin(',', vectorColumn ? ["embedding"] : Enumerable.Range(0, dim).Select(i => $"dim{i}")).Append('\n');
        for (int r = 0; r < vectors.Length; r++)
        {
            sb.Append(r.ToString(CultureInfo.InvariantCulture)).Append(',');
            var values = vectors[r].Select(v => v.ToString("R", CultureInfo.InvariantCulture));
            if (vectorColumn) sb.Append('"').AppendJoin(' ', values).Append('"');
            else sb.AppendJoin(',', values);
            sb.Append('\n');
        }
        File.WriteAllText(path, sb.ToString());
    }

    private static async Task WriteParquet(string path, float[][] vectors, int dim)
    {
        var fields = Enumerable.Range(0, dim).Select(i => new DataField<float>($"dim{i}")).ToArray();
        var rowField = new DataField<int>("row");
        var schema = new ParquetSchema([rowField, .. fields]);
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(schema, stream);
        using var group = writer.CreateRowGroup();
        await group.WriteAsync<int>(rowField, Enumerable.Range(0, vectors.Length).ToArray());
        for (int d = 0; d < dim; d++)
            await group.WriteAsync<float>(fields[d], vectors.Select(v => v[d]).ToArray());
    }
}
