using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>A trial was stopped by the pruner after <see cref="Epochs"/> epochs.</summary>
public sealed class TrialPrunedException(int epochs, double metric) : Exception($"pruned after epoch {epochs} (validation metric {metric:F4})")
{
    public int Epochs { get; } = epochs;
    public double Metric { get; } = metric;
}

/// <summary>
/// What one trial produced: the fitted model (input: the text columns), its validation metric, per-epoch reports, each
/// validation row's score (1/0 right/wrong, or a regression row's share of R²: see <see cref="Selection.PairedComparison"/>)
/// so two trials can be compared with the noise of the validation rows, and whether a time limit ended its training.
/// </summary>
public sealed record TrialOutcome(ITransformer Model, double ValidationMetric, IReadOnlyList<EpochReport>? Epochs)
{
    public double[] ValidationScores { get; init; } = [];
    public bool StoppedByLimit { get; init; }
}

/// <summary>How the experiment steers a running trial: each epoch's report (may throw <see cref="TrialPrunedException"/>),
/// each batch's (may ask for a stop), cancellation (Ctrl+C: nothing is kept) and a stop (the time budget: a neural
/// trial keeps its best validated epoch).</summary>
public sealed record TrialControl
{
    public Action<EpochReport>? OnEpoch { get; init; }
    public Action<BatchReport>? OnBatch { get; init; }
    public CancellationToken Cancellation { get; init; }
    public CancellationToken Stop { get; init; }

    public static TrialControl None { get; } = new();
}

/// <summary>A pipeline family the experiment can try, with its search space.</summary>
public abstract class Candidate(string name, SearchSpace space, bool classical)
{
    public string Name { get; } = name;
    public SearchSpace Space { get; } = space;
    /// <summary>Classical ML.NET pipelines (the baselines the summary compares against).</summary>
    public bool IsClassical { get; } = classical;

    /// <summary>How costly the fitted model is to score, for preferring the cheaper of two models that tie: 0 classical
    /// (TF-IDF and a linear model or trees), 1 a small neural model (LSTM, small transformer), 2 a pretrained encoder.</summary>
    public int ScoringCost { get; init; } = classical ? 0 : 1;

    /// <summary>Configurations known to work, tried first and in this order (a warm start; see <see cref="PortfolioTuner"/>).</summary>
    public IReadOnlyList<ParameterSet> Portfolio { get; init; } = [];

    /// <summary>
    /// Fits the pipeline on <paramref name="data"/>'s training rows. Neural candidates report each epoch's metric on
    /// <paramref name="validation"/> (and early-stop on it); with no validation they run their epochs blind.
    /// </summary>
    protected abstract FittedPipeline Fit(MLContext ml, TextJobData data, IDataView? validation, ParameterSet p, DeviceOptions device, TrialControl control);

    /// <summary>One trial: fits on the training rows and scores the validation rows (<paramref name="data"/>'s test rows).</summary>
    public virtual TrialOutcome Run(MLContext ml, TextJobData data, ParameterSet p, DeviceOptions device, TrialControl control)
    {
        var validation = data.TestView(ml);
        var fitted = Fit(ml, data, validation, p, device, control);
        // A neural trial scored the validation rows at its best epoch already: not again (a fine-tuned encoder takes
        // 10-40 s for 800 rows on a CPU, which a trial stopped by the budget would spend past it).
        if (fitted.ValidationRowScores is { } rows && rows.Count == data.Test.Count && fitted.Epochs is { Count: > 0 } epochs)
            return new TrialOutcome(fitted.Model, epochs.Max(e => e.ValidationMetric ?? double.NegativeInfinity), epochs)
            {
                ValidationScores = [.. rows], StoppedByLimit = fitted.Stopped,
            };
        // Scored once for the metric and the per-row scores (scoring is the slow part of a neural model's evaluation).
        var scored = ml.Data.Cache(fitted.Model.Transform(validation));
        return new TrialOutcome(fitted.Model, Metric(ml, data, scored), fitted.Epochs)
        {
            ValidationScores = ValidationScores(data, scored), StoppedByLimit = fitted.Stopped,
        };
    }

    /// <summary>One trial with per-epoch reports and cancellation only (benches, tests).</summary>
    public TrialOutcome Run(MLContext ml, TextJobData data, ParameterSet p, DeviceOptions device, Action<EpochReport>? onEpoch, CancellationToken ct) =>
        Run(ml, data, p, device, new TrialControl { OnEpoch = onEpoch, Cancellation = ct });

    /// <summary>Fits the chosen parameters again on all of <paramref name="data"/>'s training rows (train + validation),
    /// with no held-out rows: the caller fixes the epochs (see <see cref="TextExperiment"/>).</summary>
    public virtual ITransformer Refit(MLContext ml, TextJobData data, ParameterSet p, DeviceOptions device, CancellationToken ct) =>
        Fit(ml, data, null, p, device, new TrialControl { Cancellation = ct }).Model;

    /// <summary>A fitted pipeline (input: the text columns) and, for neural candidates, its epoch reports.</summary>
    protected sealed record FittedPipeline(ITransformer Model, IReadOnlyList<EpochReport>? Epochs = null, bool Stopped = false,
        IReadOnlyList<double>? ValidationRowScores = null);

    /// <summary>Each validation row's score: 1 where the predicted label is the truth, else 0 (mean: accuracy); for
    /// regression, minus the squared error scaled so the mean is the row's share of R² (see PairedComparison).</summary>
    public static double[] ValidationScores(TextJobData data, IDataView scored)
    {
        if (data.Task == TaskKind.Regression)
        {
            var predictions = scored.GetColumn<float>("Score").Select(v => (double)v).ToList();
            var labels = scored.GetColumn<float>("Label").Select(v => (double)v).ToList();
            return Selection.PairedComparison.RegressionScores(predictions, labels);
        }
        if (data.Task == TaskKind.Binary)
            return scored.GetColumn<bool>("PredictedLabel").Zip(scored.GetColumn<bool>("Label"), (p, y) => p == y ? 1.0 : 0.0).ToArray();
        return scored.GetColumn<uint>("PredictedLabel").Zip(scored.GetColumn<uint>("Label"), (p, y) => p == y && y != 0 ? 1.0 : 0.0).ToArray();
    }

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
