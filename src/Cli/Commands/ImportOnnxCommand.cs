using System.CommandLine;
using MlNetLlm.Modeling.Checkpoints;
using Spectre.Console;

namespace MlNetLlm.Cli.Commands;

/// <summary><c>mlnet-llm import-onnx</c>: an ONNX export of a Hugging Face BERT-family encoder → a checkpoint folder.</summary>
public sealed class ImportOnnxCommand : ICliCommand
{
    public Command Build()
    {
        var model = new Argument<string>("model") { Description = "The .onnx file (a PyTorch / optimum export of a Hugging Face BertModel)." };
        var vocab = CliOptions.Required("--vocab", "The model's WordPiece vocab.txt.");
        var output = CliOptions.Required("--output", "Folder to write (config.json, model.safetensors, vocab.txt, tokenizer_config.json).");
        var cased = new Option<bool>("--cased") { Description = "Keep case when tokenizing (default: lower-case when the vocabulary has no upper-case token)." };
        var cmd = new Command("import-onnx", "Import an ONNX encoder export as a Hugging Face checkpoint folder usable with --encoder checkpoint:DIR.") { model, vocab, output, cased };
        cmd.SetAction(parse => CliErrors.Run(() => Import(parse.GetRequiredValue(model), parse.GetRequiredValue(vocab), parse.GetRequiredValue(output),
            parse.GetValue(cased) ? false : null)));
        return cmd;
    }

    internal static int Import(string model, string vocab, string output, bool? lowerCase)
    {
        if (Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any())
            throw new ArgumentException($"--output '{output}' exists and is not empty: choose a new folder.");
        var r = OnnxEncoderImport.ImportToFolder(model, vocab, output, lowerCase);
        var c = r.Config;
        AnsiConsole.MarkupLineInterpolated(
            $"imported {r.Tensors} tensors: {c.ModelType}, {c.NumLayers} layers, hidden {c.HiddenSize}, {c.NumHeads} heads, intermediate {c.IntermediateSize}, vocab {c.VocabSize}{(r.HasPooler ? ", pooler" : "")} → [green]{output}[/]");
        return 0;
    }
}
