using System.Text.Json;
using Microsoft.ML.Runtime;
using MlNetLlm.MlNet;
using MlNetLlm.MlNet.Persistence;
using MlNetLlm.Modeling.Export;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Tokenization;
using MlNetLlm.Modeling.Training;
using static TorchSharp.torch;
using MlNetLlm.Modeling.Checkpoints;

namespace MlNetLlm.Estimators;

/// <summary>
/// A fitted text classifier or regressor. Output columns follow ML.NET conventions so the catalog's Evaluate works
/// unchanged: multiclass adds Score (class probabilities, slot names = classes) and PredictedLabel (key with the
/// label's key values); binary adds Score (logit), Probability and PredictedLabel (bool); regression adds Score.
/// Empty texts are scored (the model sees only its special tokens), never skipped.
/// </summary>
public sealed class TextPredictionTransformer : TextScoringTransformer, ITrainedTextEncoder, IOnnxExportable, IDisposable
{
    private const string SpecEntry = "spec.json";
    private const string WeightsEntry = "weights.safetensors";
    private const string TokenizerPrefix = "tokenizer/";
    private const string TrainingEntry = "training.json";

    private readonly TextHeadModel _model;
    private readonly TextTokenizer _tokenizer;
    private readonly Device _device;
    private readonly IReadOnlyDictionary<string, byte[]> _tokenizerFiles;
    private readonly IReadOnlyList<OutputColumn> _outputs;
    private readonly Autocast.WeightCache _bf16Weights = new(); // the weights never change once trained or loaded

    internal TextPredictionTransformer(TextModelSpec spec, TextHeadModel model, TextTokenizer tokenizer, IReadOnlyDictionary<string, byte[]> tokenizerFiles,
        Device device, TrainingResult? training, PrecisionChoice precision)
        : base(spec.TextColumns, spec.PredictionBatchSize)
    {
        (Spec, Precision, _model, _tokenizer, _tokenizerFiles, _device, Training) = (spec, precision, model, tokenizer, tokenizerFiles, device, training);
        _model.eval();
        _outputs = BuildOutputs(spec);
    }

    internal TextModelSpec Spec { get; }
    /// <summary>The precision Transform computes in (Fp32 or Bf16) and why: the trained one (<see cref="TextModelSpec.Precision"/>)
    /// where this device computes it natively, or what <see cref="UsePrecision"/> chose.</summary>
    public PrecisionChoice Precision { get; private set; }
    /// <summary>Per-epoch reports of the training run (also after loading from a zip).</summary>
    public TrainingResult? Training { get; }
    public override IReadOnlyList<OutputColumn> OutputColumns => _outputs;
    public TextTokenizer Tokenizer => _tokenizer;
    /// <summary>The tokenizer files stored in the zip (vocab.txt, merges.txt, ...).</summary>
    internal IReadOnlyDictionary<string, byte[]> TokenizerFiles => _tokenizerFiles;
    internal TextHeadModel Model => _model;
    IReadOnlyDictionary<string, byte[]> ITrainedTextEncoder.TokenizerFiles => _tokenizerFiles;
    EncoderSpec ITrainedTextEncoder.EncoderSpec => Spec.Body;
    PooledTextEncoder ITrainedTextEncoder.Encoder => _model.Body;
    IReadOnlyList<string> ITrainedTextEncoder.TextColumns => Spec.TextColumns;

    OnnxExportSource IOnnxExportable.GetOnnxExportSource() => new()
    {
        Description = $"The text {(Spec.Task == TaskKind.Regression ? "regressor" : "classifier")}",
        Body = Spec.Body, Encoder = _model.Body, TokenizerFiles = _tokenizerFiles, TextColumns = Spec.TextColumns, BatchSize = Spec.PredictionBatchSize,
        Head = new OnnxExportHead
        {
            Task = Spec.Task, Model = _model, LabelNames = Spec.LabelNames, LabelMean = Spec.LabelMean, LabelStd = Spec.LabelStd,
            ScoreColumn = Spec.ScoreColumnName, PredictedLabelColumn = Spec.PredictedLabelColumnName,
        },
    };

    private static IReadOnlyList<OutputColumn> BuildOutputs(TextModelSpec spec) => spec.Task switch
    {
        TaskKind.Multiclass => PredictionColumns.Multiclass(spec.LabelNames, spec.ScoreColumnName, spec.PredictedLabelColumnName),
        TaskKind.Binary => PredictionColumns.Binary(spec.ScoreColumnName, spec.PredictedLabelColumnName),
        _ => PredictionColumns.Regression(spec.ScoreColumnName),
    };

    public override Array[] ScoreBatch(IReadOnlyList<string[]> rows)
    {
        var encoded = new EncodedText[rows.Count];
        for (int i = 0; i < rows.Count; i++)
            encoded[i] = _tokenizer.Encode(rows[i][0], rows[i].Length > 1 ? rows[i][1] : null, Spec.Body.MaxLength);
        var raw = BatchInference.Predict(_model, _model.Body.UsesTokenTypes, encoded, BatchSize, _tokenizer.Special.Padding, _device, Precision.Value, _bf16Weights);
        PredictionColumns.CheckFinite(raw);
        return Spec.Task switch
        {
            TaskKind.Multiclass => PredictionColumns.FromMulticlassLogits(raw),
            TaskKind.Binary => PredictionColumns.FromBinaryLogits(raw),
            _ => PredictionColumns.FromStandardizedValues(raw, Spec.LabelMean, Spec.LabelStd),
        };
    }

    protected override void SaveState(ModelWriter writer)
    {
        writer.WriteBytes(SpecEntry, JsonSerializer.SerializeToUtf8Bytes(Spec, TextModelSpec.Json));
        writer.WriteBytes(WeightsEntry, ModelWeights.Save(_model));
        writer.WriteFiles(TokenizerPrefix, _tokenizerFiles);
        if (Training is not null)
            writer.WriteBytes(TrainingEntry, JsonSerializer.SerializeToUtf8Bytes(Training, TextModelSpec.Json));
    }

    // Called by the persistence dispatcher when mlContext.Model.Load meets this type.
    private static TextPredictionTransformer LoadState(IHostEnvironment env, ModelReader reader)
    {
        var spec = JsonSerializer.Deserialize<TextModelSpec>(reader.ReadBytes(SpecEntry), TextModelSpec.Json)
                   ?? throw new InvalidDataException($"Model zip entry '{SpecEntry}' is empty.");
        var files = reader.ReadFiles(TokenizerPrefix);
        var tokenizer = spec.Body.CreateTokenizer(files);
        var device = DeviceOptions.Cpu.Resolve();
        var model = spec.CreateModel();
        ModelWeights.Load(model, reader.ReadBytes(WeightsEntry), WeightsEntry);
        TrainingResult? training = reader.Exists(TrainingEntry)
            ? JsonSerializer.Deserialize<TrainingResult>(reader.ReadBytes(TrainingEntry), TextModelSpec.Json)
            : null;
        return new TextPredictionTransformer(spec, model, tokenizer, files, device, training, LoadedPrecision(spec.Precision, spec.Body, device));
    }

    /// <summary>How a loaded model scores: bf16-trained models in bf16 where this device computes it natively (fp32
    /// elsewhere: the weights are fp32, emulated bf16 would only be slower); fp32-trained ones (and older zips) in fp32.</summary>
    internal static PrecisionChoice LoadedPrecision(Precision trained, EncoderSpec body, Device device) =>
        PrecisionSupport.Resolve(trained == Modeling.Runtime.Precision.Bf16 ? Modeling.Runtime.Precision.Auto : Modeling.Runtime.Precision.Fp32, device,
            "TextModelSpec.Precision", body.Encoder == TextEncoderKind.Lstm ? LstmTextEncoder.NoBf16 : null);

    /// <summary>Scores in <paramref name="requested"/> from now on (Auto: bf16 where this device computes it natively).
    /// Not saved: a saved model keeps the precision it was trained in. Throws when Bf16 is asked of an LSTM model.</summary>
    public void UsePrecision(Precision requested) =>
        Precision = PrecisionSupport.Resolve(requested, _device, "TextPredictionTransformer.UsePrecision", Spec.Body.Encoder == TextEncoderKind.Lstm ? LstmTextEncoder.NoBf16 : null);

    public void Dispose()
    {
        _bf16Weights.Dispose();
        _model.Dispose();
    }
}
