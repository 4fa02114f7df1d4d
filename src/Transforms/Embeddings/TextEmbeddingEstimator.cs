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

    public TextEmbeddingEstimator(TextEmbeddingOptions options)
    {
        options.Validate();
        if (string.IsNullOrWhiteSpace(options.CheckpointPath))
            throw new ArgumentException("CheckpointPath must name a Hugging Face model folder (or build the estimator from a trained classifier).", nameof(options.CheckpointPath));
        _options = options;
    }

    /// <summary>Embeddings from the encoder of a classifier trained by this library (its pooling and max length).</summary>
    public TextEmbeddingEstimator(ITrainedTextEncoder classifier, TextEmbeddingOptions options)
    {
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
        return Create(_options, _classifier);
    }

    /// <summary>Builds the transformer without data (embeddings need no fitting).</summary>
    public static TextEmbeddingTransformer Create(TextEmbeddingOptions options, ITrainedTextEncoder? classifier = null)
    {
        options.Validate();
        var device = options.Device.Resolve();
        if (classifier is not null)
        {
            var precision = TextEmbeddingTransformer.ResolvePrecision(options.Precision, device, classifier.EncoderSpec, "TextEmbeddingOptions.Precision");
            var spec = new EmbeddingSpec
            {
                InputColumn = options.InputColumnName, OutputColumn = options.OutputColumnName, Normalize = options.Normalize, BatchSize = options.BatchSize,
                Body = classifier.EncoderSpec, Precision = precision.Value,
            };
            // A copy of the classifier's encoder weights, so the two transformers can be disposed independently.
            var body = spec.Body.CreateBody();
            ModelWeights.Load(body, ModelWeights.Save(classifier.Encoder), "classifier encoder");
            body.to(device);
            var files = classifier.TokenizerFiles;
            return new TextEmbeddingTransformer(spec, body, spec.Body.CreateTokenizer(files), files, device, precision);
        }

        var pretrained = PretrainedTransformer.Load(options.CheckpointPath!, options.Device);
        var (encoderSpec, encoder) = EncoderSpec.FromPretrained(pretrained, options.Pooling, options.MaxLength);
        var chosen = TextEmbeddingTransformer.ResolvePrecision(options.Precision, device, encoderSpec, "TextEmbeddingOptions.Precision");
        return new TextEmbeddingTransformer(
            new EmbeddingSpec
            {
                InputColumn = options.InputColumnName, OutputColumn = options.OutputColumnName, Normalize = options.Normalize, BatchSize = options.BatchSize, Body = encoderSpec,
                Precision = chosen.Value,
            },
            encoder, pretrained.Tokenizer, pretrained.TokenizerFiles, device, chosen);
    }
}

/// <summary>Catalog entry: <c>mlContext.Transforms.Text.TextEmbedding(...)</c>.</summary>
public static class TextEmbeddingCatalog
{
    public static TextEmbeddingEstimator TextEmbedding(this TransformsCatalog.TextTransforms catalog, TextEmbeddingOptions options) => new(options);

    public static TextEmbeddingEstimator TextEmbedding(this TransformsCatalog.TextTransforms catalog, string outputColumnName, string inputColumnName, string checkpointPath,
        Pooling pooling = Pooling.Mean, bool normalize = false) =>
        new(new TextEmbeddingOptions { OutputColumnName = outputColumnName, InputColumnName = inputColumnName, CheckpointPath = checkpointPath, Pooling = pooling, Normalize = normalize });

    /// <summary>Embeddings from the encoder of a classifier this library trained.</summary>
    public static TextEmbeddingEstimator TextEmbedding(this TransformsCatalog.TextTransforms catalog, ITrainedTextEncoder classifier, string outputColumnName = "Embedding", string? inputColumnName = null) =>
        new(classifier, new TextEmbeddingOptions { OutputColumnName = outputColumnName, InputColumnName = inputColumnName ?? classifier.TextColumns[0], MaxLength = classifier.EncoderSpec.MaxLength });
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
        if (all.OfType<TextEmbeddingTransformer>().FirstOrDefault() is { } embedder)
        {
            embedder.UsePrecision(options.Precision);
            return embedder;
        }
        if (all.OfType<ITrainedTextEncoder>().FirstOrDefault() is { } classifier)
            return TextEmbeddingEstimator.Create(new TextEmbeddingOptions
            {
                InputColumnName = classifier.TextColumns[0], OutputColumnName = options.OutputColumnName, Normalize = options.Normalize,
                BatchSize = options.BatchSize, MaxLength = classifier.EncoderSpec.MaxLength, Precision = options.Precision,
            }, classifier);
        throw new InvalidDataException($"'{path}' holds no MlNetLlm text encoder (an embedding transform or a text classifier).");
    }
}
