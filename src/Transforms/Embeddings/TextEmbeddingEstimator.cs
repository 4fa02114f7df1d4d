using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet;
using MlNetLlm.Modeling;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Training;
using TorchSharp;

namespace MlNetLlm.Transforms.Embeddings;

/// <summary>
/// Estimator for <see cref="TextEmbeddingTransformer"/>. Nothing is learned: Fit checks the schema (the input column must
/// be text) and loads the checkpoint. Use it before any ML.NET trainer: <c>TextEmbedding → LightGbm</c>.
/// </summary>
public sealed class TextEmbeddingEstimator : IEstimator<TextEmbeddingTransformer>
{
    private readonly TextEmbeddingOptions _options;
    private readonly ITrainedTextEncoder? _classifier;
    private readonly Microsoft.ML.Runtime.IHostEnvironment? _environment;

    public TextEmbeddingEstimator(TextEmbeddingOptions options) : this(options, null) { }

    internal TextEmbeddingEstimator(TextEmbeddingOptions options, Microsoft.ML.Runtime.IHostEnvironment? environment)
    {
        _environment = environment;
        options.Validate();
        if (string.IsNullOrWhiteSpace(options.CheckpointPath))
            throw new ArgumentException("CheckpointPath must name a Hugging Face model folder (or build the estimator from a trained classifier).", nameof(options.CheckpointPath));
        _options = options;
    }

    /// <summary>Embeddings from the encoder of a classifier trained by this library (its pooling and max length).</summary>
    public TextEmbeddingEstimator(ITrainedTextEncoder classifier, TextEmbeddingOptions options) : this(classifier, options, null) { }

    internal TextEmbeddingEstimator(ITrainedTextEncoder classifier, TextEmbeddingOptions options, Microsoft.ML.Runtime.IHostEnvironment? environment)
    {
        _environment = environment;
        options.Validate();
        _classifier = classifier;
        _options = options;
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapes.RequireText(inputSchema, _options.InputColumnName, "Input column");
        return SchemaShapes.Append(inputSchema,
            new SchemaShapes.ColumnSpec(_options.OutputColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false, HasSlotNames: true));
    }

    public TextEmbeddingTransformer Fit(IDataView input)
    {
        GetOutputSchema(SchemaShapes.FromSchema(input.Schema));
        return Create(_options, _classifier, _environment);
    }

    /// <summary>Builds the transformer without data (embeddings need no fitting).</summary>
    public static TextEmbeddingTransformer Create(TextEmbeddingOptions options, ITrainedTextEncoder? classifier = null) => Create(options, classifier, null);

    internal static TextEmbeddingTransformer Create(TextEmbeddingOptions options, ITrainedTextEncoder? classifier, Microsoft.ML.Runtime.IHostEnvironment? environment)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var transformer = CreateTransformer(options, classifier);
        using var log = new ComponentLog(environment, "TextEmbedding", "Loading", options.Logger);
        var body = transformer.Spec.Body;
        log.Info($"{(classifier is null ? $"checkpoint '{options.CheckpointPath}'" : "a trained classifier's encoder")}" +
                 $"{(body.Transformer is { } t ? $" ({t.ModelType}, {t.NumLayers} layers)" : "")}: {transformer.Dimension}-dimensional {body.Pooling} embeddings" +
                 $"{(options.Normalize ? ", normalized" : "")}, max length {body.MaxLength}, on {options.Device}, loaded in {started.Elapsed.TotalSeconds:F1} s");
        return transformer;
    }

    private static TextEmbeddingTransformer CreateTransformer(TextEmbeddingOptions options, ITrainedTextEncoder? classifier)
    {
        options.Validate();
        var device = options.Device.Resolve();
        if (classifier is not null)
        {
            var spec = new EmbeddingSpec
            {
                InputColumn = options.InputColumnName, OutputColumn = options.OutputColumnName, Normalize = options.Normalize, BatchSize = options.BatchSize,
                Body = classifier.EncoderSpec,
            };
            // A copy of the classifier's encoder weights, so the two transformers can be disposed independently.
            var body = spec.Body.CreateBody();
            ModelWeights.Load(body, ModelWeights.Save(classifier.Encoder), "classifier encoder");
            body.to(device);
            var files = classifier.TokenizerFiles;
            return new TextEmbeddingTransformer(spec, body, spec.Body.CreateTokenizer(files), files, device);
        }

        var pretrained = PretrainedTransformer.Load(options.CheckpointPath!, options.Device);
        var (encoderSpec, encoder) = EncoderSpec.FromPretrained(pretrained, options.Pooling, options.MaxLength);
        return new TextEmbeddingTransformer(
            new EmbeddingSpec { InputColumn = options.InputColumnName, OutputColumn = options.OutputColumnName, Normalize = options.Normalize, BatchSize = options.BatchSize, Body = encoderSpec },
            encoder, pretrained.Tokenizer, pretrained.TokenizerFiles, device);
    }
}

/// <summary>Catalog entry: <c>mlContext.Transforms.Text.TextEmbedding(...)</c>.</summary>
public static class TextEmbeddingCatalog
{
    public static TextEmbeddingEstimator TextEmbedding(this TransformsCatalog.TextTransforms catalog, TextEmbeddingOptions options) =>
        new(options, ComponentLog.EnvironmentOf(catalog));

    public static TextEmbeddingEstimator TextEmbedding(this TransformsCatalog.TextTransforms catalog, string outputColumnName, string inputColumnName, string checkpointPath,
        Pooling pooling = Pooling.Mean, bool normalize = false) =>
        new(new TextEmbeddingOptions { OutputColumnName = outputColumnName, InputColumnName = inputColumnName, CheckpointPath = checkpointPath, Pooling = pooling, Normalize = normalize },
            ComponentLog.EnvironmentOf(catalog));

    /// <summary>Embeddings from the encoder of a classifier this library trained.</summary>
    public static TextEmbeddingEstimator TextEmbedding(this TransformsCatalog.TextTransforms catalog, ITrainedTextEncoder classifier, string outputColumnName = "Embedding", string? inputColumnName = null) =>
        new(classifier, new TextEmbeddingOptions { OutputColumnName = outputColumnName, InputColumnName = inputColumnName ?? classifier.TextColumns[0], MaxLength = classifier.EncoderSpec.MaxLength },
            ComponentLog.EnvironmentOf(catalog));
}

/// <summary>Opens an embedder from a checkpoint folder, or from a model zip holding an embedding transform or a text classifier.</summary>
public static class TextEmbeddingSource
{
    public static TextEmbeddingTransformer Open(string path, TextEmbeddingOptions? options = null)
    {
        options ??= new TextEmbeddingOptions();
        if (Directory.Exists(path) || CheckpointLocator.IsBundledName(path))
        {
            options.CheckpointPath = path;
            return TextEmbeddingEstimator.Create(options);
        }
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{path}' is neither a checkpoint folder, a bundled model name nor a model zip.", path);
        var model = MlNetLlm.MlNet.Persistence.ModelFile.Load(new MLContext(), path, out _);
        var all = MlNetLlm.MlNet.Persistence.ModelFile.Transformers(model).ToList();
        if (all.OfType<TextEmbeddingTransformer>().FirstOrDefault() is { } embedder) return embedder;
        if (all.OfType<ITrainedTextEncoder>().FirstOrDefault() is { } classifier)
            return TextEmbeddingEstimator.Create(new TextEmbeddingOptions
            {
                InputColumnName = classifier.TextColumns[0], OutputColumnName = options.OutputColumnName, Normalize = options.Normalize,
                BatchSize = options.BatchSize, MaxLength = classifier.EncoderSpec.MaxLength,
            }, classifier);
        throw new InvalidDataException($"'{path}' holds no MlNetLlm text encoder (an embedding transform or a text classifier).");
    }
}
