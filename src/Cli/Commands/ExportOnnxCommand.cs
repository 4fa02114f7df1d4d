using System.CommandLine;
using Microsoft.ML;
using MlNetLlm.Estimators;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Export;
using MlNetLlm.Modeling.Training;
using MlNetLlm.Onnx;
using Spectre.Console;

namespace MlNetLlm.Cli.Commands;

/// <summary>
/// <c>mlnet-llm export-onnx</c>: a trained model.zip (classifier, regressor, embedding transform), a checkpoint folder or
/// a bundled model → a folder that MlNetLlm.Onnx (and predict / embed) scores with ONNX Runtime, without libtorch.
/// </summary>
public sealed class ExportOnnxCommand : ICliCommand
{
    public Command Build()
    {
        var model = CliOptions.Required("--model", "model.zip written by train (a transformer encoder), or a checkpoint folder / bundled model name (minilm, arctic-xs) to export as an embedding model.");
        var output = CliOptions.Required("--output", "New (or empty) folder for model.onnx, the tokenizer files and mlnetllm-onnx.json.");
        var quantize = new Option<string>("--quantize") { Description = "none (fp32) or int8 (the encoder's Linear weights as int8, dynamic quantization).", DefaultValueFactory = _ => "none" };
        quantize.AcceptOnlyFromAmong("none", "int8");
        var pooling = new Option<Pooling?>("--pooling") { Description = "Checkpoints only: Mean (default), Cls, Max or Pooler." };
        var maxLength = new Option<int?>("--max-length") { Description = "Checkpoints only: tokens per text (default 256, up to the model's positions)." };
        var normalize = new Option<bool>("--normalize") { Description = "Checkpoints only: scale vectors to unit length when scored." };
        var cmd = new Command("export-onnx", "Export a model to ONNX (fp32 or int8) for scoring without libtorch (package MlNetLlm.Onnx).") { model, output, quantize, pooling, maxLength, normalize };
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            string path = parse.GetRequiredValue(model);
            if (!IsCheckpoint(path))
                CliOptions.RefuseGiven(parse, "apply to a checkpoint folder or bundled model; a model.zip's export keeps the pooling, length and normalisation it was trained or saved with", pooling, maxLength, normalize);
            var options = new OnnxExportOptions { Quantization = parse.GetValue(quantize) == "int8" ? OnnxQuantization.Int8 : OnnxQuantization.None };
            return Export(path, parse.GetRequiredValue(output), options, parse.GetValue(pooling), parse.GetValue(maxLength), parse.GetValue(normalize));
        }));
        return cmd;
    }

    private static bool IsCheckpoint(string path) => (Directory.Exists(path) && !OnnxTextEstimators.IsExportFolder(path)) || CheckpointLocator.IsBundledName(path);

    internal static int Export(string modelPath, string outputFolder, OnnxExportOptions options, Pooling? pooling = null, int? maxLength = null, bool normalize = false)
    {
        // Everything that can be checked is checked before the model is read, so a refused export changes nothing on disk.
        if (File.Exists(outputFolder))
            throw new ArgumentException($"--output '{outputFolder}' is a file: name a new or empty folder.");
        if (Directory.Exists(outputFolder) && Directory.EnumerateFileSystemEntries(outputFolder).Any())
            throw new ArgumentException($"--output '{outputFolder}' exists and is not empty: name a new or empty folder (nothing in it was changed).");
        if (OnnxTextEstimators.IsExportFolder(modelPath))
            throw new ArgumentException($"--model '{modelPath}' is already an ONNX export: score it with predict or embed, or copy the folder.");
        if (maxLength is < 3)
            throw new ArgumentException($"--max-length {maxLength} must be at least 3 (room for the special tokens and a text token).");
        OnnxExportResult result;
        if (IsCheckpoint(modelPath))
            result = OnnxExport.ExportCheckpoint(modelPath, outputFolder, pooling ?? Pooling.Mean, maxLength ?? 256, normalize, options);
        else if (File.Exists(modelPath))
            result = new MLContext().Model.ExportToOnnx(modelPath, outputFolder, options);
        else
            throw new FileNotFoundException($"--model '{modelPath}' is neither a model zip, a checkpoint folder nor a bundled model name ({string.Join(", ", CheckpointLocator.BundledNames)}).", modelPath);
        AnsiConsole.MarkupLineInterpolated(
            $"exported {(result.Kind == "embedding" ? "an embedding model" : "a prediction model")} ({(result.Quantization == OnnxQuantization.Int8 ? "int8" : "fp32")}, model.onnx {result.GraphBytes / 1e6:F1} MB) to [green]{outputFolder}[/]: {string.Join(", ", result.Files)}");
        return 0;
    }
}
