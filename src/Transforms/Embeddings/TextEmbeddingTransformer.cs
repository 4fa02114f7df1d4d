using System.Text.Json;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Training;
using MlNetLlm.MlNet;
using MlNetLlm.MlNet.Persistence;
using MlNetLlm.Modeling.Export;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Tokenization;
using static TorchSharp.torch;

namespace MlNetLlm.Transforms.Embeddings;

/// <summary>
/// Text → embedding vector, from a Hugging Face checkpoint or from the encoder of a classifier this library trained.
/// Rows are encoded in batches sorted by length (results in the original row order). An empty text gets the vector of
/// the special tokens alone ([CLS] [SEP] or &lt;s&gt; &lt;/s&gt;): defined, deterministic, never NaN.
/// </summary>
public sealed class TextEmbeddingTransformer : TextScoringTransformer, IOnnxExportable, IDisposable
{
    private const string SpecEntry = "embedding.json";
    private const string WeightsEntry = "encoder.safetensors";
    private const string TokenizerPrefix = "tokenizer/";

    private readonly PooledTextEncoder _encoder;
    private readonly TextTokenizer _tokenizer;
    private readonly IReadOnlyDictionary<string, byte[]> _tokenizerFiles;
    private readonly Device _device;
    private readonly OutputColumn[] _outputs;
    private readonly Autocast.WeightCache _bf16Weights = new(); // the encoder's weights never change here

    internal TextEmbeddingTransformer(EmbeddingSpec spec, PooledTextEncoder encoder, TextTokenizer tokenizer, IReadOnlyDictionary<string, byte[]> tokenizerFiles, Device device,
        PrecisionChoice precision)
        : base([spec.InputColumn], spec.BatchSize)
    {
        (Spec, Precision, _encoder, _tokenizer, _tokenizerFiles, _device) = (spec, precision, encoder, tokenizer, tokenizerFiles, device);
        _encoder.eval();
        var slotNames = Enumerable.Range(0, encoder.OutputSize).Select(i => $"dim{i}").ToArray();
        _outputs = [new OutputColumn(spec.OutputColumn, new VectorDataViewType(NumberDataViewType.Single, encoder.OutputSize), SchemaShapes.NamesAnnotation(SchemaShapes.SlotNamesKind, slotNames))];
    }

    internal EmbeddingSpec Spec { get; }
    /// <summary>The text column this transform embeds.</summary>
    public string InputColumnName => Spec.InputColumn;
    /// <summary>The precision the encoder computes in (Fp32 or Bf16) and why.</summary>
    public PrecisionChoice Precision { get; private set; }
    /// <summary>The tokenizer this transform encodes with (the one stored in its zip).</summary>
    public TextTokenizer Tokenizer => _tokenizer;
    internal PooledTextEncoder Encoder => _encoder;
    internal IReadOnlyDictionary<string, byte[]> TokenizerFiles => _tokenizerFiles;

    OnnxExportSource IOnnxExportable.GetOnnxExportSource() => new()
    {
        Description = "The text embedding transform", Body = Spec.Body, Encoder = _encoder, TokenizerFiles = _tokenizerFiles,
        TextColumns = [Spec.InputColumn], OutputColumn = Spec.OutputColumn, Normalize = Spec.Normalize, BatchSize = Spec.BatchSize,
    };

    /// <summary>Length of every embedding vector.</summary>
    public int Dimension => _encoder.OutputSize;
    public override IReadOnlyList<OutputColumn> OutputColumns => _outputs;

    /// <summary>
    /// Keeps every vector this instance computes, keyed by its text, and answers repeated texts from it. For callers
    /// that transform the same rows many times with one frozen encoder (an AutoML experiment fitting trainer after
    /// trainer on the same embeddings); never saved.
    /// </summary>
    public void RememberVectors() => _memo ??= new System.Collections.Concurrent.ConcurrentDictionary<string, float[]>(StringComparer.Ordinal);

    private System.Collections.Concurrent.ConcurrentDictionary<string, float[]>? _memo;

    /// <summary>Embeds texts directly (no IDataView): one vector per text, in order.</summary>
    public float[][] Embed(IReadOnlyList<string> texts)
    {
        if (_memo is not { } memo) return Compute(texts);
        var missing = texts.Select(t => t ?? "").Where(t => !memo.ContainsKey(t)).Distinct().ToList();
        if (missing.Count > 0)
        {
            var computed = Compute(missing);
            for (int i = 0; i < missing.Count; i++) memo[missing[i]] = computed[i];
        }
        return texts.Select(t => (float[])memo[t ?? ""].Clone()).ToArray(); // copies: downstream buffers may be reused
    }

    /// <summary>How many texts this instance has run through its encoder (with <see cref="RememberVectors"/>: distinct texts).</summary>
    public long EncodedTexts => Interlocked.Read(ref _encodedTexts);

    private long _encodedTexts;

    private float[][] Compute(IReadOnlyList<string> texts)
    {
        Interlocked.Add(ref _encodedTexts, texts.Count);
        var encoded = texts.Select(t => _tokenizer.Encode(t ?? "", maxLength: Spec.Body.MaxLength)).ToList();
        var vectors = BatchInference.Predict(_encoder, _encoder.UsesTokenTypes, encoded, BatchSize, _tokenizer.Special.Padding, _device, Precision.Value, _bf16Weights);
        return Spec.Normalize ? EmbeddingVectors.NormalizeL2(vectors) : vectors;
    }

    public override Array[] ScoreBatch(IReadOnlyList<string[]> rows) => EmbeddingVectors.AsColumn(Embed(rows.Select(r => r[0]).ToList()));

    protected override void SaveState(ModelWriter writer)
    {
        writer.WriteBytes(SpecEntry, JsonSerializer.SerializeToUtf8Bytes(Spec, EmbeddingSpec.Json));
        writer.WriteBytes(WeightsEntry, ModelWeights.Save(_encoder));
        writer.WriteFiles(TokenizerPrefix, _tokenizerFiles);
    }

    private static TextEmbeddingTransformer LoadState(IHostEnvironment env, ModelReader reader)
    {
        var spec = JsonSerializer.Deserialize<EmbeddingSpec>(reader.ReadBytes(SpecEntry), EmbeddingSpec.Json)
                   ?? throw new InvalidDataException($"Model zip entry '{SpecEntry}' is empty.");
        var files = reader.ReadFiles(TokenizerPrefix);
        var encoder = spec.Body.CreateBody();
        ModelWeights.Load(encoder, reader.ReadBytes(WeightsEntry), WeightsEntry);
        var device = DeviceOptions.Cpu.Resolve();
        // Saved bf16: bf16 again where this device computes it natively; saved fp32 (and older zips): fp32.
        var precision = ResolvePrecision(spec.Precision == Modeling.Runtime.Precision.Bf16 ? Modeling.Runtime.Precision.Auto : Modeling.Runtime.Precision.Fp32, device, spec.Body, "EmbeddingSpec.Precision");
        return new TextEmbeddingTransformer(spec, encoder, spec.Body.CreateTokenizer(files), files, device, precision);
    }

    internal static PrecisionChoice ResolvePrecision(Precision requested, Device device, EncoderSpec body, string optionName) =>
        PrecisionSupport.Resolve(requested, device, optionName, body.Encoder == TextEncoderKind.Lstm ? LstmTextEncoder.NoBf16 : null);

    /// <summary>Computes in <paramref name="requested"/> from now on (Auto: bf16 where this device computes it natively).
    /// Not saved: the zip keeps the precision the transform was made with. Throws when Bf16 is asked of an LSTM encoder.</summary>
    public void UsePrecision(Precision requested) => Precision = ResolvePrecision(requested, _device, Spec.Body, "TextEmbeddingTransformer.UsePrecision");

    public void Dispose()
    {
        _bf16Weights.Dispose();
        _encoder.Dispose();
    }
}

/// <summary>What an embedding transformer saves besides weights and tokenizer files.</summary>
internal sealed record EmbeddingSpec
{
    public required string InputColumn { get; init; }
    public required string OutputColumn { get; init; }
    public required EncoderSpec Body { get; init; }
    public bool Normalize { get; init; }
    public int BatchSize { get; init; } = 32;
    /// <summary>The resolved precision the transform was made with (Fp32 or Bf16); zips saved before the field existed read as Fp32.</summary>
    public Precision Precision { get; init; } = Precision.Fp32;

    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };
}
