using Microsoft.Extensions.Logging;
using Microsoft.ML;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.Modeling.Runtime;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>What a Model Builder style text experiment tries and under which budget.</summary>
public sealed record ExperimentOptions
{
    /// <summary>The data: file, label and text columns, test rows, task, classes kept, GloVe file (adds lstm+glove) and
    /// seed. Its <see cref="TextJobOptions.Encoder"/> and <see cref="TextJobOptions.Trainer"/> are what the experiment
    /// chooses and sweeps: setting them is refused.</summary>
    public required TextJobOptions Data { get; init; }
    /// <summary>Part of the training rows held out to compare trials (the test rows are never used to choose).</summary>
    public double ValidationFraction { get; init; } = 0.2;
    /// <summary>The default budget: 6 minutes, so that the first round of every candidate fits on a 2-core CPU.</summary>
    public static readonly TimeSpan DefaultTrainTime = TimeSpan.FromSeconds(360);

    public TimeSpan TrainTime { get; init; } = DefaultTrainTime;
    public int? MaxTrials { get; init; }
    public TunerKind Tuner { get; init; } = TunerKind.Cfo;
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
    /// <summary>When the output folder holds an earlier experiment's outputs (its default store, trial models, model.zip,
    /// metrics.json, trials.csv, report.html), move them into previous-TIME/ once the options and data are checked,
    /// instead of refusing the run; nothing else in the folder is touched. Only for a fresh experiment in the default
    /// store (no <see cref="Store"/>, <see cref="Resume"/> or <see cref="Join"/>).</summary>
    public bool MoveEarlierRunAside { get; init; }
    /// <summary>How often a running trial tells the store its worker is alive.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>With <see cref="Join"/> and <see cref="Resume"/>: a running trial whose worker has sent no heartbeat
    /// for this long is taken to be dead and is requeued.</summary>
    public TimeSpan StaleAfter { get; init; } = TimeSpan.FromMinutes(3);
    public string? CheckpointPath { get; init; }
    /// <summary>Candidate names to try (null: all that apply): tfidf+sdca, tfidf+lbfgs, tfidf+lightgbm, embeddings+sdca, embeddings+lightgbm, lstm, lstm+glove, transformer, fine-tune.</summary>
    public IReadOnlyList<string>? Candidates { get; init; }
    public bool Pruning { get; init; } = true;
    /// <summary>After the search, fit the chosen trial's pipeline and parameters again on all training rows (the fit and
    /// validation rows together). Null (default): when its measured cost fits in what is left of the time budget; true:
    /// always (after the budget if need be); false: never. The test metrics are then the refitted model's.</summary>
    public bool? Refit { get; init; }
    public DeviceOptions Device { get; init; } = new();
    /// <summary>Precision of the neural candidates (fine-tune, transformer, embeddings): Auto (default) runs bf16 matrix
    /// products where the device computes bf16 natively; the LSTM candidates are fp32 whatever is chosen, so Bf16 is
    /// refused while they are part of the run. Each trial records the precision it ran in.</summary>
    public Precision Precision { get; init; } = Precision.Auto;
    public IProgress<ExperimentEvent>? Events { get; init; }
    /// <summary>Also receives the experiment's messages that go to <c>MLContext.Log</c>: each trial's start and end with
    /// the budget used, the time left and the best trial so far.</summary>
    public ILogger? Logger { get; init; }
    public CancellationToken CancellationToken { get; init; }

    /// <summary>Checks what can be checked without data or store, so a mistake costs nothing on disk: every message names
    /// the option.</summary>
    internal void Validate(IReadOnlyList<Candidate> candidates)
    {
        if (candidates.Count == 0) throw new ArgumentException("No candidate pipelines to try (ExperimentOptions.Candidates).");
        if (ValidationFraction is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(ValidationFraction), ValidationFraction, "ExperimentOptions.ValidationFraction must be between 0 and 1.");
        if (TrainTime <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(TrainTime), TrainTime, "ExperimentOptions.TrainTime must be positive.");
        if (MaxTrials is < 0) throw new ArgumentOutOfRangeException(nameof(MaxTrials), MaxTrials, "ExperimentOptions.MaxTrials must be 0 or more.");
        // 0 trials only collects the outputs of trials already in the store.
        if (MaxTrials == 0 && !Resume && !Join)
            throw new ArgumentException("ExperimentOptions.MaxTrials 0 runs no trial: it only writes the outputs of an experiment already in the store, with ExperimentOptions.Resume. Give at least 1.");
        if (string.IsNullOrWhiteSpace(ExperimentName)) throw new ArgumentException("ExperimentOptions.ExperimentName must not be empty.");
        if (MoveEarlierRunAside && (Store is not null || Resume || Join))
            throw new ArgumentException("ExperimentOptions.MoveEarlierRunAside is for a fresh experiment in the output folder's own store: not with ExperimentOptions.Store, ExperimentOptions.Resume or ExperimentOptions.Join.");
        if (Data.Encoder is not null)
            throw new ArgumentException($"TextJobOptions.Encoder '{Data.Encoder}' cannot apply to an experiment: it tries its candidates (ExperimentOptions.Candidates) instead. Leave it unset.");
        if (Data.Trainer is not null)
            throw new ArgumentException("TextJobOptions.Trainer cannot apply to an experiment: it sweeps each candidate's parameters itself. Leave it unset; ExperimentOptions.Device and ExperimentOptions.Precision set the device and precision.");
        TextJobData.CheckColumns(Data.LabelColumn, Data.TextColumns, Data.SplitColumn, "TextJobOptions");
        // Files the user names are looked at now, whether or not a candidate reading them comes up within the budget.
        if (Data.GlovePath is { } glove)
        {
            if (!File.Exists(glove)) throw new FileNotFoundException($"TextJobOptions.GlovePath '{glove}' does not exist.", glove);
            if (candidates.All(c => c.Name != NeuralCandidate.LstmGloveName))
                throw new ArgumentException($"TextJobOptions.GlovePath is read only by candidate {NeuralCandidate.LstmGloveName}, which is not among this run's candidates ({string.Join(", ", candidates.Select(c => c.Name))}).");
        }
        if (CheckpointPath is not null && !Directory.Exists(CheckpointPath) && !MlNetLlm.Modeling.Checkpoints.CheckpointLocator.IsBundledName(CheckpointPath))
            throw new ArgumentException($"ExperimentOptions.CheckpointPath '{CheckpointPath}' is neither a checkpoint folder nor a bundled model ({string.Join(", ", MlNetLlm.Modeling.Checkpoints.CheckpointLocator.BundledNames)}).");
    }
}

/// <summary>Progress of an experiment, for live tables and logs.</summary>
public abstract record ExperimentEvent(int TrialId, string Candidate)
{
    public sealed record TrialStarted(int TrialId, string Candidate, ParameterSet Parameters) : ExperimentEvent(TrialId, Candidate);
    public sealed record EpochEnded(int TrialId, string Candidate, int Epoch, double Metric) : ExperimentEvent(TrialId, Candidate);
    public sealed record TrialCompleted(int TrialId, string Candidate, double Metric, double Seconds) : ExperimentEvent(TrialId, Candidate);
    public sealed record TrialPruned(int TrialId, string Candidate, int Epochs, string Why) : ExperimentEvent(TrialId, Candidate);
    public sealed record TrialFailed(int TrialId, string Candidate, string Error) : ExperimentEvent(TrialId, Candidate);
    /// <summary>The time budget ended the trial before it had a validated result (shown as "stopped (budget)").</summary>
    public sealed record TrialStopped(int TrialId, string Candidate, string Why) : ExperimentEvent(TrialId, Candidate);
    public sealed record NewBest(int TrialId, string Candidate, double Metric) : ExperimentEvent(TrialId, Candidate);
    /// <summary>Before the first trial (<see cref="ExperimentOptions.MoveEarlierRunAside"/>): the earlier experiment's outputs are now in <paramref name="Folder"/>.</summary>
    public sealed record EarlierRunMovedAside(string Folder) : ExperimentEvent(0, "");

    /// <summary>One line for logs and consoles; null for an epoch (the trial's own trainer logs those).</summary>
    public string? Describe() => this switch
    {
        TrialStarted s => $"trial {s.TrialId} {s.Candidate} started: {s.Parameters}",
        TrialCompleted c => $"trial {c.TrialId} {c.Candidate} completed: {c.Metric:F4} in {c.Seconds:F1} s",
        TrialPruned p => $"trial {p.TrialId} {p.Candidate} pruned after {p.Epochs} epochs ({p.Why})",
        TrialFailed f => $"trial {f.TrialId} {f.Candidate} failed: {f.Error}",
        TrialStopped st => $"trial {st.TrialId} {st.Candidate} stopped (budget): {st.Why}",
        NewBest n => $"trial {n.TrialId} {n.Candidate} is the best so far: {n.Metric:F4}",
        EarlierRunMovedAside m => $"moved the earlier experiment's outputs to {m.Folder}",
        _ => null,
    };
}

/// <summary>What an experiment produced.</summary>
public sealed record ExperimentResult(
    ITransformer BestModel, TrialRecord BestTrial, IReadOnlyList<TrialRecord> Trials, TextJobMetrics TestMetrics,
    double[][]? ConfusionMatrix, string MetricName, double TotalSeconds, TextJobData Data, DataViewSchema InputSchema, string? BaselineCandidate,
    RefitSummary? Refit = null, Selection.ModelPick? Pick = null, string? RefitNote = null);

/// <summary>The best pipeline fitted again on all training rows: how many, how long, and the test metrics of the
/// search's own model of that trial (fitted on the fit rows only), to compare with.</summary>
public sealed record RefitSummary(int Rows, double Seconds, TextJobMetrics TestMetricsBeforeRefit);
