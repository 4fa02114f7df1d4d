using Microsoft.ML;
using MlNetLlm.Estimators;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>The neural text trainers (LSTM, from-scratch transformer, checkpoint fine-tuning) with per-epoch reports for pruning.</summary>
public sealed class NeuralCandidate(string name, SearchSpace space, TextEncoderKind encoder, string? checkpoint = null, string? glove = null, Precision precision = Precision.Auto)
    : Candidate(name, space, classical: false)
{
    public const string LstmGloveName = "lstm+glove";

    public static NeuralCandidate Lstm(string? glove, Precision precision = Precision.Auto) =>
        new(glove is null ? "lstm" : LstmGloveName, SearchSpaces.Lstm(), TextEncoderKind.Lstm, glove: glove, precision: precision);
    public static NeuralCandidate Transformer(Precision precision = Precision.Auto) => new("transformer", SearchSpaces.FromScratch(), TextEncoderKind.Transformer, precision: precision);
    public static NeuralCandidate FineTune(string checkpoint, Precision precision = Precision.Auto) =>
        new("fine-tune", SearchSpaces.TransformerFineTune(), TextEncoderKind.Checkpoint, checkpoint, precision: precision)
        {
            ScoringCost = 2, Portfolio = SearchSpaces.FineTunePortfolio(),
        };

    public override string? ResolvePrecision(DeviceOptions device)
    {
        if (encoder == TextEncoderKind.Lstm && precision == Precision.Bf16)
            throw new ArgumentException($"ExperimentOptions.Precision is Bf16, but candidate {Name} cannot run in it: {LstmTextEncoder.NoBf16}. Use Auto (bf16 where it applies, fp32 for {Name}) or leave {Name} out with ExperimentOptions.Candidates.");
        return new TextTrainerOptions { Encoder = encoder, Precision = precision, Device = device }.ResolvePrecision().Name;
    }

    protected override FittedPipeline Fit(MLContext ml, TextJobData data, IDataView? validation, ParameterSet p, DeviceOptions device, TrialControl control)
    {
        var o = new TextTrainerOptions
        {
            TextColumnName = data.TextColumns[0],
            SecondTextColumnName = data.TextColumns.Length > 1 ? data.TextColumns[1] : null,
            Encoder = encoder,
            CheckpointPath = checkpoint,
            GlovePath = glove,
            LearningRate = p.GetDouble(ParameterNames.LearningRate),
            BatchSize = p.GetInt(ParameterNames.BatchSize),
            Epochs = p.GetInt(ParameterNames.Epochs),
            Device = device,
            Precision = precision,
            ValidationSet = validation,
            CancellationToken = control.Cancellation,
            StopToken = control.Stop,
            EpochProgress = control.OnEpoch is { } onEpoch ? new InlineProgress<EpochReport>(onEpoch) : null,
            BatchProgress = control.OnBatch is { } onBatch ? new InlineProgress<BatchReport>(onBatch) : null,
        };
        if (p.ContainsKey(ParameterNames.MaxLength)) o.MaxLength = p.GetInt(ParameterNames.MaxLength);
        if (p.ContainsKey(ParameterNames.WarmupRatio)) o.WarmupRatio = p.GetDouble(ParameterNames.WarmupRatio);
        if (p.ContainsKey(ParameterNames.WeightDecay)) o.WeightDecay = p.GetDouble(ParameterNames.WeightDecay);
        if (p.ContainsKey(ParameterNames.Dropout)) o.Dropout = p.GetDouble(ParameterNames.Dropout);
        if (p.ContainsKey(ParameterNames.HiddenSize)) o.LstmHiddenSize = p.GetInt(ParameterNames.HiddenSize);
        if (p.ContainsKey(ParameterNames.Layers)) o.LstmLayers = p.GetInt(ParameterNames.Layers);
        IEstimator<TextPredictionTransformer> estimator = TaskTrainers.Text(ml, data.Task, o);
        var train = data.TrainView(ml);
        var fitted = estimator.Fit(train);
        return new FittedPipeline(TextTrainingJob.WithLabelNames(ml, data, fitted, train), fitted.Training?.Epochs, fitted.Training?.Stopped == true,
            fitted.Training?.BestValidationRowScores);
    }
}
