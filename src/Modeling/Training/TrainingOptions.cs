using MlNetLlm.Modeling.Runtime;

namespace MlNetLlm.Modeling.Training;

/// <summary>What the head predicts.</summary>
public enum TaskKind
{
    /// <summary>K classes, cross-entropy on K logits.</summary>
    Multiclass,
    /// <summary>Two classes, binary cross-entropy on one logit.</summary>
    Binary,
    /// <summary>One real value, mean squared error on the standardised label.</summary>
    Regression,
}

/// <summary>Hyper-parameters of the one training loop every encoder and head share.</summary>
internal sealed class TrainingOptions : OptimizerOptions
{
    public TrainingOptions() => LearningRate = 5e-5;

    public int Epochs { get; set; } = 3;
    /// <summary>Epochs without validation improvement before stopping; null trains all epochs. Needs a validation set.</summary>
    public int? EarlyStoppingPatience { get; set; }
    /// <summary>Group rows of similar length into batches (shuffled per epoch) so padding stays small.</summary>
    public bool LengthBucketing { get; set; } = true;
    /// <summary>Resolved precision of the forward and backward products (Fp32 or Bf16; see <see cref="Autocast"/>):
    /// master weights, optimizer state, gradient sums and the loss are fp32 either way. Resolve Auto with
    /// <see cref="PrecisionSupport.Resolve"/> first.</summary>
    public Precision Precision { get; set; } = Precision.Fp32;

    /// <summary>Checks every value; the message names the option as <paramref name="owner"/>.Property, so a caller whose
    /// options carry the same properties (TextTrainerOptions) gets messages naming the property its user set.</summary>
    public void Validate(string owner = nameof(TrainingOptions))
    {
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, $"{owner}.Epochs must be at least 1.");
        if (LearningRate is null) throw new ArgumentException($"{owner}.LearningRate must be resolved before training.", nameof(LearningRate));
        ValidateOptimizer(owner);
        if (Precision is not (Precision.Fp32 or Precision.Bf16))
            throw new ArgumentOutOfRangeException(nameof(Precision), Precision, $"{owner}.Precision must be resolved to Fp32 or Bf16 (PrecisionSupport.Resolve) before training.");
        if (EarlyStoppingPatience is < 1) throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), EarlyStoppingPatience, $"{owner}.EarlyStoppingPatience must be at least 1 (or null to disable).");
    }
}

/// <summary>One epoch's numbers. Metric is accuracy for classification and -MSE (standardised) for regression: higher is better.</summary>
public sealed record EpochReport(
    int Epoch, int Epochs, double TrainLoss, double? ValidationLoss, double? ValidationMetric, string MetricName,
    double Seconds, int OptimizerSteps, bool IsBest);

/// <summary>One batch's numbers (for progress bars).</summary>
/// <param name="TokensSoFar">Padded tokens (rows x the batch's longest row) of this epoch's batches up to this one.</param>
/// <param name="EpochTokens">Padded tokens of the whole epoch: with <paramref name="TokensSoFar"/>, what is left of it.</param>
public sealed record BatchReport(int Epoch, int Batch, int BatchesPerEpoch, double Loss, long TokensSoFar = 0, long EpochTokens = 0);

/// <summary>The loss stopped being a finite number; the message names the epoch, step and learning rate.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>A stop request (a time budget) came before any epoch was validated: nothing is worth keeping.</summary>
public sealed class TrainingStoppedException(string message) : OperationCanceledException(message);

/// <summary>What training did.</summary>
public sealed record TrainingResult(IReadOnlyList<EpochReport> Epochs, int BestEpoch, bool StoppedEarly)
{
    /// <summary>A stop request ended training before its last epoch; the weights are the best validated epoch's.</summary>
    public bool Stopped { get; init; }
    /// <summary>Each validation row's score at the best epoch, in the validation set's order: 1 or 0 for a right or wrong
    /// class; for regression −squared error × n / total sum of squares (their mean is R² − 1). Null without validation.
    /// An experiment compares trials on them without scoring the validation rows again.</summary>
    public IReadOnlyList<double>? BestValidationRowScores { get; init; }
}
