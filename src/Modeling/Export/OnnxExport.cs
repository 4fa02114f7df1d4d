using System.Text.Json;
using System.Text.Json.Serialization;
using Google.Protobuf;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Training;
using MlNetLlm.Tokenization;

namespace MlNetLlm.Modeling.Export;

/// <summary>
/// Exports a trained text model (or a checkpoint as an embedding model) to a folder an ONNX Runtime scorer needs nothing
/// else from: <c>model.onnx</c> (opset 17, written by <see cref="OnnxEncoderGraph"/> from the model's own weights), the
/// tokenizer files it was trained with, and <c>mlnetllm-onnx.json</c> (task, label names, regression mean and std,
/// pooling, maximum length, normalisation, how to rebuild the tokenizer). Everything is checked before anything is
/// written; the folder appears complete or not at all.
/// </summary>
internal static class OnnxExport
{
    public const string GraphFile = "model.onnx";
    public const string ManifestFile = "mlnetllm-onnx.json";

    /// <summary>Exports <paramref name="source"/> into <paramref name="outputFolder"/>, which must not exist or be empty.</summary>
    public static OnnxExportResult Export(OnnxExportSource source, string outputFolder, OnnxExportOptions? options = null)
    {
        options ??= new OnnxExportOptions();
        CheckOutputFolder(outputFolder);
        var transformer = Exportable(source);
        var config = transformer.Encoder.Config;
        var module = (TorchSharp.torch.nn.Module?)source.Head?.Model ?? source.Encoder;
        var weights = ExportWeights.From(module, source.Description);
        var plan = new EncoderGraphPlan(config, weights, source.Head is null ? "encoder." : "body.encoder.", source.Body.Pooling,
            source.Head is null ? null : "head.", options.Quantization == OnnxQuantization.Int8 ? options.Int8Layout : null, options.Int8Scope);
        string version = typeof(OnnxExport).Assembly.GetName().Version?.ToString(3) ?? "0";
        var manifest = Manifest(source, config, options, version);
        var graph = OnnxEncoderGraph.Build(plan, version, new Dictionary<string, string>
        {
            ["mlnetllm.kind"] = manifest.Kind, ["mlnetllm.pooling"] = manifest.Pooling, ["mlnetllm.quantization"] = manifest.Quantization,
        });
        byte[] graphBytes = graph.ToByteArray();
        var files = new Dictionary<string, byte[]>(source.TokenizerFiles) { [GraphFile] = graphBytes, [ManifestFile] = JsonSerializer.SerializeToUtf8Bytes(manifest, Json) };
        WriteFolder(outputFolder, files);
        return new OnnxExportResult(outputFolder, manifest.Kind, options.Quantization, graphBytes.LongLength, files.Keys.Order(StringComparer.Ordinal).ToList());
    }

    /// <summary>
    /// Exports a Hugging Face checkpoint folder or a bundled model's name (minilm, arctic-xs) as an embedding model:
    /// the encoder, <paramref name="pooling"/> over its token states, texts truncated to <paramref name="maxLength"/> tokens.
    /// </summary>
    public static OnnxExportResult ExportCheckpoint(string checkpoint, string outputFolder, Pooling pooling = Pooling.Mean, int maxLength = 256,
        bool normalize = false, OnnxExportOptions? options = null)
    {
        CheckOutputFolder(outputFolder);
        if (maxLength < 3) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "maxLength must be at least 3.");
        using var pretrained = PretrainedTransformer.Load(checkpoint);
        var (spec, encoder) = EncoderSpec.FromPretrained(pretrained, pooling, maxLength);
        return Export(new OnnxExportSource
        {
            Description = $"checkpoint '{checkpoint}'", Body = spec, Encoder = encoder, TokenizerFiles = pretrained.TokenizerFiles,
            TextColumns = ["Text"], Normalize = normalize,
        }, outputFolder, options);
    }

    /// <summary>The output must be a new folder or an empty one (never a file): checked before any work.</summary>
    public static void CheckOutputFolder(string outputFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputFolder);
        if (File.Exists(outputFolder))
            throw new ArgumentException($"The export folder '{outputFolder}' is a file: name a new or empty folder.", nameof(outputFolder));
        if (Directory.Exists(outputFolder) && Directory.EnumerateFileSystemEntries(outputFolder).Any())
            throw new ArgumentException($"The export folder '{outputFolder}' exists and is not empty: name a new or empty folder (nothing in it was changed).", nameof(outputFolder));
    }

    /// <summary>The transformer encoder the exporter can write, or an error naming what the model holds instead.</summary>
    private static TransformerTextEncoder Exportable(OnnxExportSource source)
    {
        if (source.Encoder is not TransformerTextEncoder transformer)
            throw new NotSupportedException(
                $"{source.Description} has a {Describe(source.Encoder)} encoder, which ONNX export does not cover: it exports transformer encoders " +
                "(BERT, MiniLM, RoBERTa, XLM-R, DistilBERT, and transformers trained from scratch). Nothing was written.");
        var family = transformer.Encoder.Config.Family;
        if (family is not (EncoderFamily.Bert or EncoderFamily.Roberta or EncoderFamily.DistilBert))
            throw new NotSupportedException($"{source.Description} has a {transformer.Encoder.Config.ModelType} encoder, which ONNX export does not cover yet. Nothing was written.");
        if (source.Head is { } head && !ReferenceEquals(head.Model.Body, source.Encoder))
            throw new ArgumentException($"{source.Description}: the head's model does not hold the encoder given with it.", nameof(source));
        return transformer;
    }

    private static string Describe(PooledTextEncoder encoder) => encoder switch
    {
        LstmTextEncoder lstm => $"{(lstm.Config.Bidirectional ? "bidirectional " : "")}LSTM ({nameof(LstmTextEncoder)})",
        _ => encoder.GetType().Name,
    };

    private static ExportManifest Manifest(OnnxExportSource s, TransformerConfig config, OnnxExportOptions options, string version) => new()
    {
        Kind = s.Head is null ? "embedding" : "prediction",
        Task = s.Head?.Task.ToString(),
        LabelNames = [.. s.Head?.LabelNames ?? []],
        LabelMean = s.Head?.LabelMean ?? 0,
        LabelStd = s.Head?.LabelStd ?? 1,
        ScoreColumn = s.Head?.ScoreColumn,
        PredictedLabelColumn = s.Head?.PredictedLabelColumn,
        TextColumns = [.. s.TextColumns],
        OutputColumn = s.Head is null ? s.OutputColumn : null,
        Normalize = s.Head is null && s.Normalize,
        MaxLength = s.Body.MaxLength,
        Pooling = s.Body.Pooling.ToString(),
        BatchSize = s.BatchSize,
        Tokenizer = s.Body.GetTokenizerRecipe(),
        TokenizerFiles = [.. s.TokenizerFiles.Keys.Order(StringComparer.Ordinal)],
        Inputs = OnnxEncoderGraph.UsesTokenTypes(config)
            ? [OnnxEncoderGraph.InputIds, OnnxEncoderGraph.AttentionMask, OnnxEncoderGraph.TokenTypeIds]
            : [OnnxEncoderGraph.InputIds, OnnxEncoderGraph.AttentionMask],
        Output = s.Head is null ? OnnxEncoderGraph.EmbeddingOutput : OnnxEncoderGraph.LogitsOutput,
        OutputSize = s.Head?.Model.Outputs ?? config.HiddenSize,
        Quantization = options.Quantization.ToString(),
        Encoder = $"{config.ModelType}, {config.NumLayers} layers, hidden {config.HiddenSize}, {config.NumHeads} heads",
        ExportedBy = $"MlNetLlm {version}",
    };

    private static void WriteFolder(string outputFolder, IReadOnlyDictionary<string, byte[]> files)
    {
        string full = Path.GetFullPath(outputFolder);
        string parent = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(parent);
        string temp = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.partial");
        try
        {
            Directory.CreateDirectory(temp);
            foreach (var (name, bytes) in files)
                File.WriteAllBytes(Path.Combine(temp, name), bytes);
            if (Directory.Exists(full)) Directory.Delete(full); // empty (checked): the rename needs the name free
            Directory.Move(temp, full);
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, Converters = { new JsonStringEnumConverter() },
    };
}

/// <summary>mlnetllm-onnx.json as the exporter writes it (MlNetLlm.Onnx reads the same fields; README: "Deploy without libtorch").</summary>
internal sealed record ExportManifest
{
    public string Format { get; init; } = "mlnetllm-onnx";
    public int FormatVersion { get; init; } = 1;
    public required string Kind { get; init; }
    public string? Task { get; init; }
    public string[] LabelNames { get; init; } = [];
    public float LabelMean { get; init; }
    public float LabelStd { get; init; } = 1;
    public string? ScoreColumn { get; init; }
    public string? PredictedLabelColumn { get; init; }
    public required string[] TextColumns { get; init; }
    public string? OutputColumn { get; init; }
    public bool Normalize { get; init; }
    public required int MaxLength { get; init; }
    public required string Pooling { get; init; }
    public int BatchSize { get; init; }
    public required TokenizerRecipe Tokenizer { get; init; }
    public required string[] TokenizerFiles { get; init; }
    public string Graph { get; init; } = OnnxExport.GraphFile;
    public required string[] Inputs { get; init; }
    public required string Output { get; init; }
    public required int OutputSize { get; init; }
    public required string Quantization { get; init; }
    public string? Encoder { get; init; }
    public string? ExportedBy { get; init; }
}
