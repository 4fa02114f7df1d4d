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

    /// <summary>
    /// Fits the pipeline on <paramref name="data"/>'s training rows. Neural candidates report each epoch's metric on
    /// <paramref name="validation"/> (and early-stop on it); with no validation they run their epochs blind.
    /// </summary>
    protected abstract FittedPipeline Fit(MLContext ml, TextJobData data, IDataView? validation, ParameterSet p, DeviceOptions device,
        Action<EpochReport>? onEpoch, CancellationToken ct);

    /// <summary>One trial: fits on the training rows and scores the validation rows (<paramref name="data"/>'s test rows).</summary>
    /// <param name="onEpoch">Called after each epoch with (epoch, validation metric); may throw <see cref="TrialPrunedException"/>.</param>
    public virtual TrialOutcome Run(MLContext ml, TextJobData data, ParameterSet p, DeviceOptions device, Action<EpochReport>? onEpoch, CancellationToken ct)
    {
        var validation = data.TestView(ml);
        var fitted = Fit(ml, data, validation, p, device, onEpoch, ct);
        return new TrialOutcome(fitted.Model, Metric(ml, data, fitted.Model.Transform(validation)), fitted.Epochs);
    }

    /// <summary>Fits the chosen parameters again on all of <paramref name="data"/>'s training rows (train + validation),
    /// with no held-out rows: the caller fixes the epochs (see <see cref="TextExperiment"/>).</summary>
    public virtual ITransformer Refit(MLContext ml, TextJobData data, ParameterSet p, DeviceOptions device, CancellationToken ct) =>
        Fit(ml, data, null, p, device, null, ct).Model;

    /// <summary>A fitted pipeline (input: the text columns) and, for neural candidates, its epoch reports.</summary>
    protected sealed record FittedPipeline(ITransformer Model, IReadOnlyList<EpochReport>? Epochs = null);

    /// <summary>Validation metric: accuracy for classification, R² for regression (higher is better).</summary>
    public static double Metric(MLContext ml, TextJobData data, IDataView scored) => data.Task switch
    {
        TaskKind.Multiclass => ml.MulticlassClassification.Evaluate(scored).MicroAccuracy,
        TaskKind.Binary => ml.BinaryClassification.Evaluate(scored).Accuracy,
        _ => ml.Regression.Evaluate(scored).RSquared,
    };

    public static string MetricName(TaskKind task) => task == TaskKind.Regression ? "r_squared" : "accuracy";

    /// <summary>The precision this candidate's trials compute in on <paramref name="device"/> ("fp32", "bf16"), or null for
    /// ML.NET's own learners. Throws when the candidate cannot run in the precision asked for.</summary>
    public virtual string? ResolvePrecision(DeviceOptions device) => null;
}

/// <summary>FeaturizeText + an ML.NET trainer (SDCA maximum entropy, L-BFGS maximum entropy, LightGbm).</summary>
public sealed class ClassicalCandidate : Candidate
{
    private readonly string _trainer;

    private ClassicalCandidate(string name, SearchSpace space, string trainer) : base(name, space, classical: true) => _trainer = trainer;

    public static ClassicalCandidate Sdca() => new("tfidf+sdca", SearchSpaces.SdcaMaximumEntropy(), "sdca");
    public static ClassicalCandidate Lbfgs() => new("tfidf+lbfgs", SearchSpaces.LbfgsMaximumEntropy(), "lbfgs");
    public static ClassicalCandidate LightGbm() => new("tfidf+lightgbm", SearchSpaces.LightGbm(), "lightgbm");

    protected override FittedPipeline Fit(MLContext ml, TextJobData data, IDataView? validation, ParameterSet p, DeviceOptions device,
        Action<EpochReport>? onEpoch, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var pipeline = TextTrainingJob.TfIdfFeatures(ml, data.TextColumns).Append(Trainer(ml, data.Task, p));
        var train = data.TrainView(ml);
        return new FittedPipeline(TextTrainingJob.WithLabelNames(ml, data, pipeline.Fit(train), train));
    }

    private IEstimator<ITransformer> Trainer(MLContext ml, TaskKind task, ParameterSet p)
    {
        switch (_trainer)
        {
            case "sdca":
                return SdcaTrainer(ml, task, p);
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

    /// <summary>SDCA for the task with the SDCA search space's parameters (shared with embeddings+sdca).</summary>
    internal static IEstimator<ITransformer> SdcaTrainer(MLContext ml, TaskKind task, ParameterSet p)
    {
        float l2 = (float)p.GetDouble(ParameterNames.L2Regularization), l1 = (float)p.GetDouble(ParameterNames.L1Regularization);
        return task switch
        {
            TaskKind.Multiclass => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(l2Regularization: l2, l1Regularization: l1),
            TaskKind.Binary => ml.BinaryClassification.Trainers.SdcaLogisticRegression(l2Regularization: l2, l1Regularization: l1),
            _ => ml.Regression.Trainers.Sdca(l2Regularization: l2, l1Regularization: l1),
        };
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

/// <summary>
/// A frozen checkpoint's embeddings of the experiment's text column, computed once per experiment (same checkpoint,
/// pooling and max length) and shared by every embeddings candidate and trial: only the learner on top is refitted.
/// </summary>
public sealed class SharedEmbeddings(string checkpoint, Pooling pooling = Pooling.Mean, int maxLength = 128, Precision precision = Precision.Auto)
{
    private readonly object _gate = new();
    private TextEmbeddingTransformer? _embedder;

    public string Checkpoint { get; } = checkpoint;
    public Precision Precision { get; } = precision;

    /// <summary>Texts encoded so far (each distinct text once).</summary>
    public long EncodedTexts { get { lock (_gate) return _embedder?.EncodedTexts ?? 0; } }

    /// <summary>The one embedder (its vectors remembered by text), created on first use.</summary>
    public TextEmbeddingTransformer For(string textColumn, DeviceOptions device)
    {
        lock (_gate)
        {
            if (_embedder is null)
            {
                _embedder = TextEmbeddingEstimator.Create(new TextEmbeddingOptions
                {
                    InputColumnName = textColumn, OutputColumnName = "Features", CheckpointPath = Checkpoint, Pooling = pooling, MaxLength = maxLength, Device = device,
                    Precision = Precision,
                });
                _embedder.RememberVectors();
            }
            else if (_embedder.Spec.InputColumn != textColumn)
                throw new InvalidOperationException($"The shared embeddings were made for text column '{_embedder.Spec.InputColumn}', not '{textColumn}'.");
            return _embedder;
        }
    }
}

/// <summary>Frozen-checkpoint embeddings (<see cref="SharedEmbeddings"/>) + a classical ML.NET learner (LightGbm or SDCA).</summary>
public sealed class EmbeddingCandidate : Candidate
{
    private readonly SharedEmbeddings _embeddings;
    private readonly string _trainer;

    private EmbeddingCandidate(string name, SearchSpace space, string trainer, SharedEmbeddings embeddings) : base(name, space, classical: false)
    {
        _trainer = trainer;
        _embeddings = embeddings;
    }

    public static EmbeddingCandidate LightGbm(SharedEmbeddings embeddings) => new("embeddings+lightgbm", SearchSpaces.LightGbm(), "lightgbm", embeddings);
    public static EmbeddingCandidate Sdca(SharedEmbeddings embeddings) => new("embeddings+sdca", SearchSpaces.SdcaMaximumEntropy(), "sdca", embeddings);

    public override string? ResolvePrecision(DeviceOptions device) => PrecisionSupport.Resolve(_embeddings.Precision, device, "ExperimentOptions.Precision").Name;

    protected override FittedPipeline Fit(MLContext ml, TextJobData data, IDataView? validation, ParameterSet p, DeviceOptions device,
        Action<EpochReport>? onEpoch, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        if (data.TextColumns.Length != 1) throw new NotSupportedException($"{Name} takes one text column.");
        var embedder = _embeddings.For(data.TextColumns[0], device);
        var trainer = _trainer == "lightgbm" ? ClassicalCandidate.LightGbmTrainer(ml, data.Task, p) : ClassicalCandidate.SdcaTrainer(ml, data.Task, p);
        var train = data.TrainView(ml);
        var learner = ml.Transforms.NormalizeMinMax("Features").AppendCacheCheckpoint(ml).Append(trainer).Fit(embedder.Transform(train));
        var model = new TransformerChain<ITransformer>(embedder, learner);
        return new FittedPipeline(TextTrainingJob.WithLabelNames(ml, data, model, train));
    }
}

/// <summary>The neural text trainers (LSTM, from-scratch transformer, checkpoint fine-tuning) with per-epoch reports for pruning.</summary>
public sealed class NeuralCandidate(string name, SearchSpace space, TextEncoderKind encoder, string? checkpoint = null, string? glove = null, Precision precision = Precision.Auto)
    : Candidate(name, space, classical: false)
{
    public const string LstmGloveName = "lstm+glove";

    public static NeuralCandidate Lstm(string? glove, Precision precision = Precision.Auto) =>
        new(glove is null ? "lstm" : LstmGloveName, SearchSpaces.Lstm(), TextEncoderKind.Lstm, glove: glove, precision: precision);
    public static NeuralCandidate Transformer(Precision precision = Precision.Auto) => new("transformer", SearchSpaces.FromScratch(), TextEncoderKind.Transformer, precision: precision);
    public static NeuralCandidate FineTune(string checkpoint, Precision precision = Precision.Auto) =>
        new("fine-tune", SearchSpaces.TransformerFineTune(), TextEncoderKind.Checkpoint, checkpoint, precision: precision);

    public override string? ResolvePrecision(DeviceOptions device)
    {
        if (encoder == TextEncoderKind.Lstm && precision == Precision.Bf16)
            throw new ArgumentException($"ExperimentOptions.Precision is Bf16, but candidate {Name} cannot run in it: {LstmTextEncoder.NoBf16}. Use Auto (bf16 where it applies, fp32 for {Name}) or leave {Name} out with ExperimentOptions.Candidates.");
        return new TextTrainerOptions { Encoder = encoder, Precision = precision, Device = device }.ResolvePrecision().Name;
    }

    protected override FittedPipeline Fit(MLContext ml, TextJobData data, IDataView? validation, ParameterSet p, DeviceOptions device,
        Action<EpochReport>? onEpoch, CancellationToken ct)
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
            CancellationToken = ct,
            EpochProgress = onEpoch is null ? null : new InlineProgress<EpochReport>(onEpoch),
        };
        if (p.ContainsKey(ParameterNames.MaxLength)) o.MaxLength = p.GetInt(ParameterNames.MaxLength);
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
        return new FittedPipeline(TextTrainingJob.WithLabelNames(ml, data, fitted, train), fitted.Training?.Epochs);
    }
}
