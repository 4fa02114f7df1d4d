using Microsoft.ML;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.Modeling.Runtime;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>What a Model Builder style text experiment tries and under which budget.</summary>
public sealed record ExperimentOptions
{
    public required string Dataset { get; init; }
    /// <summary>Field separator of the data files (null: commas, see <c>CsvTable.Load</c>).</summary>
    public char? Separator { get; init; }
    public required string LabelColumn { get; init; }
    public required IReadOnlyList<string> TextColumns { get; init; }
    public string? TestDataset { get; init; }
    public string? SplitColumn { get; init; }
    public double TestFraction { get; init; } = 0.2;
    /// <summary>Part of the training rows held out to compare trials (the test rows are never used to choose).</summary>
    public double ValidationFraction { get; init; } = 0.2;
    public string Task { get; init; } = "auto";
    public int? MaxClasses { get; init; }
    public TimeSpan TrainTime { get; init; } = TimeSpan.FromMinutes(5);
    public int? MaxTrials { get; init; }
    /// <summary>cfo (default), random, grid or tpe.</summary>
    public string Tuner { get; init; } = "cfo";
    /// <summary>Grid search: values per numeric parameter (choices always take all their values).</summary>
    public int GridStepsPerDimension { get; init; } = 5;
    /// <summary>Trial store: a SQLite file (default experiment.db in the output folder) or a PostgreSQL connection.</summary>
    public string? Store { get; init; }
    public string ExperimentName { get; init; } = "experiment";
    /// <summary>Continue the experiment recorded in the store (finished trials are kept, an unfinished one is rerun).</summary>
    public bool Resume { get; init; }
    /// <summary>Work on an experiment that other workers (processes or machines) are running on the same store at the
    /// same time: its trials are shared, each claimed by one worker; nothing is requeued. Workers that share the
    /// output folder also share trial models, so each ends with the experiment's best.</summary>
    public bool Join { get; init; }
    /// <summary>How often a running trial tells the store its worker is alive.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>With <see cref="Join"/> and <see cref="Resume"/>: a running trial whose worker has sent no heartbeat
    /// for this long is taken to be dead and is requeued.</summary>
    public TimeSpan StaleAfter { get; init; } = TimeSpan.FromMinutes(3);
    public string? CheckpointPath { get; init; }
    public string? GlovePath { get; init; }
    /// <summary>Candidate names to try (null: all that apply): tfidf+sdca, tfidf+lbfgs, tfidf+lightgbm, embeddings+sdca, embeddings+lightgbm, lstm, lstm+glove, transformer, fine-tune.</summary>
    public IReadOnlyList<string>? Candidates { get; init; }
    public bool Pruning { get; init; } = true;
    /// <summary>After the search, fit the best trial's pipeline and parameters again on all training rows (the fit and
    /// validation rows together). Runs after the time budget; the test metrics are then the refitted model's.</summary>
    public bool Refit { get; init; }
    public int Seed { get; init; } = 1;
    public DeviceOptions Device { get; init; } = new();
    /// <summary>Precision of the neural candidates (fine-tune, transformer, embeddings): Auto (default) runs bf16 matrix
    /// products where the device computes bf16 natively; the LSTM candidates are fp32 whatever is chosen, so Bf16 is
    /// refused while they are part of the run. Each trial records the precision it ran in.</summary>
    public Precision Precision { get; init; } = Precision.Auto;
    public IProgress<ExperimentEvent>? Events { get; init; }
    public CancellationToken CancellationToken { get; init; }
}

/// <summary>Progress of an experiment, for live tables and logs.</summary>
public abstract record ExperimentEvent(int TrialId, string Candidate)
{
    public sealed record TrialStarted(int TrialId, string Candidate, ParameterSet Parameters) : ExperimentEvent(TrialId, Candidate);
    public sealed record EpochEnded(int TrialId, string Candidate, int Epoch, double Metric) : ExperimentEvent(TrialId, Candidate);
    public sealed record TrialCompleted(int TrialId, string Candidate, double Metric, double Seconds) : ExperimentEvent(TrialId, Candidate);
    public sealed record TrialPruned(int TrialId, string Candidate, int Epochs, string Why) : ExperimentEvent(TrialId, Candidate);
    public sealed record TrialFailed(int TrialId, string Candidate, string Error) : ExperimentEvent(TrialId, Candidate);
    public sealed record NewBest(int TrialId, string Candidate, double Metric) : ExperimentEvent(TrialId, Candidate);
}

/// <summary>What an experiment produced.</summary>
public sealed record ExperimentResult(
    ITransformer BestModel, TrialRecord BestTrial, IReadOnlyList<TrialRecord> Trials, TextJobMetrics TestMetrics,
    double[][]? ConfusionMatrix, string MetricName, double TotalSeconds, TextJobData Data, DataViewSchema InputSchema, string? BaselineCandidate,
    RefitSummary? Refit = null);

/// <summary>The best pipeline fitted again on all training rows: how many, how long, and the test metrics of the
/// search's own model of that trial (fitted on the fit rows only), to compare with.</summary>
public sealed record RefitSummary(int Rows, double Seconds, TextJobMetrics TestMetricsBeforeRefit);
