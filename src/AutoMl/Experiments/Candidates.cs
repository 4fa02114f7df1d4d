using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.LightGbm;
using MlNetLlm.Estimators;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;
using MlNetLlm.Transforms.Embeddings;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>A trial was stopped by the pruner after <see cref="Epochs"/> epochs.</summary>
public sealed class TrialPrunedException(int epochs, double metric) : Exception($"pruned after epoch {epochs} (validation metric {metric:F4})")
{
    public int Epochs { get; } = epochs;
    public double Metric { get; } = metric;
}

/// <summary>What one trial produced: the fitted model (input: the text columns), its validation metric, and per-epoch reports.</summary>
public sealed record TrialOutcome(ITransformer Model, double ValidationMetric, IReadOnlyList<EpochReport>? Epochs);

/// <summary>A pipeline family the experiment can try, with its search space.</summary>
public abstract class Candidate(string name, SearchSpace space, bool classical)
{
    public string Name { get; } = name;
    public SearchSpace Space { get; } = space;
    /// <summary>Classical ML.NET pipelines (the baselines the summary compares against).</summary>
    public bool IsClassical { get; } = classical;

    /// <param name="onEpoch">Called after each epoch with (epoch, validation metric); may throw <see cref="TrialPrunedException"/>.</param>
    public abstract TrialOutcome Run(MLContext ml, TextJobData data, ParameterSet p, DeviceOptions device, Action<EpochReport>? onEpoch, CancellationToken ct);

    /// <summary>Validation metric: accuracy for classification, R² for regression (higher is better).</summary>
    public static double Metric(MLContext ml, TextJobData data, IDataView scored) => data.Task switch
    {
        TaskKind.Multiclass => ml.MulticlassClassification.Evaluate(scored).MicroAccuracy,
        TaskKind.Binary => ml.BinaryClassification.Evaluate(scored).Accuracy,
        _ => ml.Regression.Evaluate(scored).RSquared,
    };

    public static string MetricName(TaskKind task) => task == TaskKind.Regression ? "r_squared" : "accuracy";
}

/// <summary>FeaturizeText + an ML.NET trainer (SDCA maximum entropy, L-BFGS maximum entropy, LightGbm).</summary>
public sealed class ClassicalCandidate : Candidate
{
    private readonly string _trainer;

    private ClassicalCandidate(string name, SearchSpace space, string trainer) : base(name, space, classical: true) => _trainer = trainer;

    public static ClassicalCandidate Sdca() => new("tfidf+sdca", SearchSpaces.SdcaMaximumEntropy(), "sdca");
    public static ClassicalCandidate Lbfgs() => new("tfidf+lbfgs", SearchSpaces.LbfgsMaximumEntropy(), "lbfgs");
    public static ClassicalCandidate LightGbm() => new("tfidf+lightgbm", SearchSpaces.LightGbm(), "lightgbm");

    public override TrialOutcome Run(MLContext ml, TextJobData data, ParameterSet p, DeviceOptions device, Action<EpochReport>? onEpoch, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var pipeline = TextTrainingJob.TfIdfFeatures(ml, data.TextColumns).Append(Trainer(ml, data.Task, p));
        ITransformer model = pipeline.Fit(data.TrainView(ml));
        model = TextTrainingJob.WithLabelNames(ml, data, model, data.TrainView(ml));
        return new TrialOutcome(model, Metric(ml, data, model.Transform(data.TestView(ml))), null);
    }

    private IEstimator<ITransformer> Trainer(MLContext ml, TaskKind task, ParameterSet p)
    {
        switch (_trainer)
        {
            case "sdca":
                float l2 = (float)p.GetDouble(ParameterNames.L2Regularization), l1 = (float)p.GetDouble(ParameterNames.L1Regularization);
                return task switch
                {
                    TaskKind.Multiclass => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(l2Regularization: l2, l1Regularization: l1),
                    TaskKind.Binary => ml.BinaryClassification.Trainers.SdcaLogisticRegression(l2Regularization: l2, l1Regularization: l1),
                    _ => ml.Regression.Trainers.Sdca(l2Regularization: l2, l1Regularization: l1),
                };
            case "lbfgs":
                float w1 = (float)p.GetDouble(ParameterNames.L1Regularization), w2 = (float)p.GetDouble(ParameterNames.L2Regularization);
                return task switch
                {
                    TaskKind.Multiclass => ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(l1Regularization: w1, l2Regularization: w2),
                    TaskKind.Binary => ml.BinaryClassification.Trainers.LbfgsLogisticRegression(l1Regularization: w1, l2Regularization: w2),
                    _ => ml.Regression.Trainers.LbfgsPoissonRegression(l1Regularization: w1, l2Regularization: w2),
                };
            default:
                return LightGbmTrainer(ml, task, p);
        }
    }

    /// <summary>LightGbm for the task with the LightGbm search space's parameters (shared with embeddings+lightgbm).</summary>
    internal static IEstimator<ITransformer> LightGbmTrainer(MLContext ml, TaskKind task, ParameterSet p)
    {
        int leaves = p.GetInt(ParameterNames.NumberOfLeaves), iterations = p.GetInt(ParameterNames.NumberOfIterations), minLeaf = p.GetInt(ParameterNames.MinimumExampleCountPerLeaf);
        double lr = p.GetDouble(ParameterNames.LearningRate);
        return task switch
        {
            TaskKind.Multiclass => ml.MulticlassClassification.Trainers.LightGbm(numberOfLeaves: leaves, minimumExampleCountPerLeaf: minLeaf, learningRate: lr, numberOfIterations: iterations),
            TaskKind.Binary => ml.BinaryClassification.Trainers.LightGbm(numberOfLeaves: leaves, minimumExampleCountPerLeaf: minLeaf, learningRate: lr, numberOfIterations: iterations),
            _ => ml.Regression.Trainers.LightGbm(numberOfLeaves: leaves, minimumExampleCountPerLeaf: minLeaf, learningRate: lr, numberOfIterations: iterations),
        };
    }
}

/// <summary>A checkpoint's mean-pooled embeddings + LightGbm.</summary>
public sealed class EmbeddingLightGbmCandidate(string checkpoint) : Candidate("embeddings+lightgbm", SearchSpaces.LightGbm(), classical: false)
{
    public override TrialOutcome Run(MLContext ml, TextJobData data, ParameterSet p, DeviceOptions device, Action<EpochReport>? onEpoch, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        if (data.TextColumns.Length != 1) throw new NotSupportedException("embeddings+lightgbm takes one text column.");
        var trainer = ClassicalCandidate.LightGbmTrainer(ml, data.Task, p);
        var pipeline = ml.Transforms.Text.TextEmbedding(new TextEmbeddingOptions { InputColumnName = data.TextColumns[0], OutputColumnName = "Features", CheckpointPath = checkpoint, Device = device, MaxLength = 128 })
            .Append(ml.Transforms.NormalizeMinMax("Features")).AppendCacheCheckpoint(ml).Append(trainer);
        ITransformer model = pipeline.Fit(data.TrainView(ml));
        model = TextTrainingJob.WithLabelNames(ml, data, model, data.TrainView(ml));
        return new TrialOutcome(model, Metric(ml, data, model.Transform(data.TestView(ml))), null);
    }
}

/// <summary>The neural text trainers (LSTM, from-scratch transformer, checkpoint fine-tuning) with per-epoch reports for pruning.</summary>
public sealed class NeuralCandidate(string name, SearchSpace space, TextEncoderKind encoder, string? checkpoint = null, string? glove = null)
    : Candidate(name, space, classical: false)
{
    public static NeuralCandidate Lstm(string? glove) => new(glove is null ? "lstm" : "lstm+glove", SearchSpaces.Lstm(), TextEncoderKind.Lstm, glove: glove);
    public static NeuralCandidate Transformer() => new("transformer", SearchSpaces.FromScratch(), TextEncoderKind.Transformer);
    public static NeuralCandidate FineTune(string checkpoint) => new("fine-tune", SearchSpaces.TransformerFineTune(), TextEncoderKind.Checkpoint, checkpoint);

    public override TrialOutcome Run(MLContext ml, TextJobData data, ParameterSet p, DeviceOptions device, Action<EpochReport>? onEpoch, CancellationToken ct)
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
            MaxLength = p.GetInt(ParameterNames.MaxLength),
            Device = device,
            ValidationSet = data.TestView(ml),
            CancellationToken = ct,
            EpochProgress = onEpoch is null ? null : new InlineProgress<EpochReport>(onEpoch),
        };
        if (p.ContainsKey(ParameterNames.WarmupRatio)) o.WarmupRatio = p.GetDouble(ParameterNames.WarmupRatio);
        if (p.ContainsKey(ParameterNames.WeightDecay)) o.WeightDecay = p.GetDouble(ParameterNames.WeightDecay);
        if (p.ContainsKey(ParameterNames.Dropout)) o.Dropout = p.GetDouble(ParameterNames.Dropout);
        if (p.ContainsKey(ParameterNames.HiddenSize)) o.LstmHiddenSize = p.GetInt(ParameterNames.HiddenSize);
        if (p.ContainsKey(ParameterNames.Layers)) o.LstmLayers = p.GetInt(ParameterNames.Layers);
        IEstimator<TextPredictionTransformer> estimator = data.Task switch
        {
            TaskKind.Multiclass => ml.MulticlassClassification.Trainers.TextClassifier(o),
            TaskKind.Binary => ml.BinaryClassification.Trainers.TextClassifier(o),
            _ => ml.Regression.Trainers.TextRegressor(o),
        };
        var train = data.TrainView(ml);
        var fitted = estimator.Fit(train);
        var model = TextTrainingJob.WithLabelNames(ml, data, fitted, train);
        return new TrialOutcome(model, Metric(ml, data, model.Transform(data.TestView(ml))), fitted.Training?.Epochs);
    }

    private sealed class InlineProgress<T>(Action<T> a) : IProgress<T>
    {
        public void Report(T value) => a(value);
    }
}
