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

    internal TextEmbeddingEstimator(TextEmbeddingOptions options) : this(options, null) { }

    internal TextEmbeddingEstimator(TextEmbeddingOptions options, Microsoft.ML.Runtime.IHostEnvironment? environment)
    {
        _environment = environment;
        options.Validate();
        if (string.IsNullOrWhiteSpace(options.CheckpointPath))
            throw new ArgumentException("CheckpointPath must name a Hugging Face model folder (or build the estimator from a trained classifier).", nameof(options.CheckpointPath));
        _options = options;
    }

    /// <summary>Embeddings from the encoder of a classifier trained by this library (its pooling and max length).</summary>
    internal TextEmbeddingEstimator(ITrainedTextEncoder classifier, TextEmbeddingOptions options) : this(classifier, options, null) { }

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
            var precision = TextEmbeddingTransformer.ResolvePrecision(options.Precision, device, classifier.EncoderSpec, "TextEmbeddingOptions.Precision");
            var spec = new EmbeddingSpec
            {
                InputColumn = options.InputColumnName, OutputColumn = options.OutputColumnName, Normalize = options.Normalize, BatchSize = options.BatchSize,
                Body = BodyOf(classifier, options), Precision = precision.Value,
            };
            // A copy of the classifier's encoder weights, so the two transformers can be disposed independently.
            var body = spec.Body.CreateBody();
            ModelWeights.Load(body, ModelWeights.Save(classifier.Encoder), "classifier encoder");
            body.to(device);
            var files = classifier.TokenizerFiles;
            return new TextEmbeddingTransformer(spec, body, spec.Body.CreateTokenizer(files), files, device, precision);
        }

        var pretrained = PretrainedTransformer.Load(options.CheckpointPath!, options.Device);
        var (encoderSpec, encoder) = EncoderSpec.FromPretrained(pretrained, options.Pooling ?? Pooling.Mean, options.MaxLength ?? TextEmbeddingOptions.DefaultMaxLength);
        var chosen = TextEmbeddingTransformer.ResolvePrecision(options.Precision, device, encoderSpec, "TextEmbeddingOptions.Precision");
        return new TextEmbeddingTransformer(
            new EmbeddingSpec
            {
                InputColumn = options.InputColumnName, OutputColumn = options.OutputColumnName, Normalize = options.Normalize, BatchSize = options.BatchSize, Body = encoderSpec,
                Precision = chosen.Value,
            },
            encoder, pretrained.Tokenizer, pretrained.TokenizerFiles, device, chosen);
    }

    /// <summary>
    /// A trained encoder's spec with the pooling and length the options ask for (null: its own), so neither is ignored:
    /// honoured where the encoder can (another pooling of a transformer's token states, another truncation), refused
    /// naming the option where it cannot (an LSTM's fixed mean+max pooling, a pooler it lacks, more positions than a
    /// from-scratch transformer learned).
    /// </summary>
    private static EncoderSpec BodyOf(ITrainedTextEncoder trained, TextEmbeddingOptions o)
    {
        var spec = trained.EncoderSpec;
        if (spec.Encoder == TextEncoderKind.Lstm && o.Pooling is not null)
            throw new ArgumentException($"TextEmbeddingOptions.Pooling {o.Pooling} does not apply to this model's LSTM encoder, which always pools the mean and max of its states: leave it unset.", nameof(o.Pooling));
        if (o.Pooling is { } pooling && pooling != spec.Pooling)
        {
            if (pooling == Pooling.Pooler && !spec.EncoderHasPooler)
                throw new ArgumentException("TextEmbeddingOptions.Pooling Pooler needs an encoder with a pooler (pooler.dense.*); this model's has none. Use Mean, Cls or Max.", nameof(o.Pooling));
            spec = spec with { Pooling = pooling };
        }
        if (o.MaxLength is { } length && length != spec.MaxLength)
        {
            // A from-scratch transformer learned one position per token up to the length it was trained with; a
            // checkpoint's tokenizer stops at the checkpoint's positions, as it does for a checkpoint folder.
            if (spec.Encoder == TextEncoderKind.Transformer && spec.Transformer is { } config && length > config.MaxPositionEmbeddings)
                throw new ArgumentOutOfRangeException(nameof(o.MaxLength), length,
                    $"TextEmbeddingOptions.MaxLength must be at most {config.MaxPositionEmbeddings} for this model: its transformer learned that many positions.");
            spec = spec with { MaxLength = length };
        }
        return spec;
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

/// <summary>Opens an embedder from a checkpoint folder, or from a model zip holding an embedding transform or a text
/// classifier. <see cref="TextEmbeddingOptions.Precision"/> applies to all three (Auto: bf16 where the CPU has it).</summary>
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
        try
        {
            // The options apply to a zip's encoder as to a checkpoint's: an embedding transform's stored settings are
            // the defaults (its normalisation stays on), a classifier's encoder keeps its pooling and length unless asked.
            var stored = all.OfType<TextEmbeddingTransformer>().FirstOrDefault();
            ITrainedTextEncoder trained = stored is not null ? new StoredEncoder(stored)
                : all.OfType<ITrainedTextEncoder>().FirstOrDefault()
                  ?? throw new InvalidDataException($"'{path}' holds no MlNetLlm text encoder (an embedding transform or a text classifier).");
            return TextEmbeddingEstimator.Create(new TextEmbeddingOptions
            {
                InputColumnName = trained.TextColumns[0], OutputColumnName = options.OutputColumnName, Normalize = options.Normalize || stored?.Spec.Normalize == true,
                BatchSize = options.BatchSize, MaxLength = options.MaxLength, Pooling = options.Pooling, Device = options.Device, Precision = options.Precision,
            }, trained);
        }
        finally
        {
            foreach (var t in all.OfType<IDisposable>()) t.Dispose(); // the new transformer holds a copy of the weights
        }
    }

    /// <summary>The encoder of a saved embedding transform, as a trained encoder to embed with.</summary>
    private sealed class StoredEncoder(TextEmbeddingTransformer stored) : ITrainedTextEncoder
    {
        EncoderSpec ITrainedTextEncoder.EncoderSpec => stored.Spec.Body;
        PooledTextEncoder ITrainedTextEncoder.Encoder => stored.Encoder;
        IReadOnlyDictionary<string, byte[]> ITrainedTextEncoder.TokenizerFiles => stored.TokenizerFiles;
        IReadOnlyList<string> ITrainedTextEncoder.TextColumns => [stored.Spec.InputColumn];
    }
}
