using System.CommandLine;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using MlNetLlm.Estimators;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Tokenization;
using MlNetLlm.Transforms.Embeddings;
using Spectre.Console;

namespace MlNetLlm.Cli.Commands;

/// <summary><c>mlnet-llm tokenize</c>: the token ids a model sees for each row, to debug what it is given.</summary>
public sealed class TokenizeCommand : ICliCommand
{
    public Command Build()
    {
        var model = CliOptions.Required("--model", "Bundled model name (minilm, arctic-xs), checkpoint folder, or model.zip.");
        var dataset = CliOptions.Required("--dataset", "Input CSV.");
        var textCol = CliOptions.Required("--text-col", "Column to tokenize.");
        var pairCol = new Option<string?>("--pair-col") { Description = "Second text of a pair." };
        var output = CliOptions.Required("--output", "One line per row: ids separated by spaces (.txt), or {\"ids\", \"tokens\"} per line (.jsonl).");
        var maxLength = new Option<int?>("--max-length") { Description = "Truncate as the model would (default: no truncation)." };
        var separator = CliOptions.Separator();
        var cmd = new Command("tokenize", "Write the token ids (with special tokens) a model gets for each row.") { model, dataset, textCol, pairCol, output, maxLength, separator };
        cmd.SetAction(parse => CliErrors.Run(() => Tokenize(parse.GetRequiredValue(model), parse.GetRequiredValue(dataset), parse.GetRequiredValue(textCol),
            parse.GetValue(pairCol), parse.GetRequiredValue(output), parse.GetValue(maxLength), parse.GetValue(separator))));
        return cmd;
    }

    internal static int Tokenize(string modelPath, string datasetPath, string textColumn, string? pairColumn, string outputPath, int? maxLength, char? separator = null)
    {
        OutputFiles.Check("--output", outputPath, ("--model", modelPath), ("--dataset", datasetPath));
        var table = CsvTable.Load(datasetPath, separator);
        var texts = table.Column(table.Header[table.ColumnIndex(textColumn, "--text-col")]);
        var pairs = pairColumn is null ? null : table.Column(table.Header[table.ColumnIndex(pairColumn, "--pair-col")]);
        var tokenizer = Open(modelPath);
        bool jsonl = outputPath.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase);
        var sb = new StringBuilder();
        for (int r = 0; r < texts.Length; r++)
        {
            EncodedText e;
            try
            {
                e = maxLength is { } m ? tokenizer.Encode(texts[r], pairs?[r], m) : tokenizer.EncodeAll(texts[r], pairs?[r]);
            }
            catch (ArgumentOutOfRangeException x) when (x.ParamName == "maxLength")
            {
                // The tokenizer names its parameter; the user typed the flag.
                throw new ArgumentException($"--max-length {maxLength} is too short: {x.Message.Replace($" (Parameter '{x.ParamName}')", "").ReplaceLineEndings(" ").Replace("maxLength must", "it must")}");
            }
            if (jsonl)
                sb.Append(JsonSerializer.Serialize(new { ids = e.InputIds, tokens = e.InputIds.Select(tokenizer.TokenText), token_type_ids = e.TokenTypeIds }));
            else
                sb.AppendJoin(' ', e.InputIds);
            sb.Append('\n');
        }
        OutputFiles.WriteAtomically(outputPath, temp => File.WriteAllText(temp, sb.ToString()));
        AnsiConsole.MarkupLineInterpolated($"wrote the token ids of {texts.Length} rows to [green]{outputPath}[/]");
        return 0;
    }

    /// <summary>The tokenizer of a bundled model or checkpoint folder (no weights loaded), or the one stored in a model zip.</summary>
    private static TextTokenizer Open(string path)
    {
        if (Directory.Exists(path) || CheckpointLocator.IsBundledName(path))
        {
            string folder = CheckpointLocator.Resolve(path);
            return TokenizerLoader.Load(folder, TransformerConfig.Load(Path.Combine(folder, "config.json")));
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"--model '{path}' is neither a bundled model, a checkpoint folder nor a model zip.", path);
        var model = MlNetLlm.MlNet.Persistence.ModelFile.Load(new MLContext(), path, out _);
        foreach (var t in MlNetLlm.MlNet.Persistence.ModelFile.Transformers(model))
        {
            if (t is TextPredictionTransformer classifier) return classifier.Tokenizer;
            if (t is TextEmbeddingTransformer embedder) return embedder.Tokenizer;
        }
        throw new InvalidDataException($"'{path}' holds no MlNetLlm text model (a text classifier or an embedding transform): nothing to tokenize with.");
    }
}
