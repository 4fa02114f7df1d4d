using MlNetLlm.Modeling.Training;

namespace MlNetLlm.Estimators.Jobs;

/// <summary>What <see cref="TextTrainingJob"/> trains. Errors name these properties (TextJobOptions.MaxClasses, ...);
/// a front end such as the CLI maps them to its own option names.</summary>
public sealed record TextJobOptions
{
    public required string Dataset { get; init; }
    /// <summary>Field separator of the data files; null reads commas and fails naming the likely separator when the header uses another.</summary>
    public char? Separator { get; init; }
    public required string LabelColumn { get; init; }
    public required IReadOnlyList<string> TextColumns { get; init; }
    public string? TestDataset { get; init; }
    /// <summary>A column whose value "test" marks test rows (other values: training rows), for data sets with a given split.</summary>
    public string? SplitColumn { get; init; }
    /// <summary>Used when no test file is given: a stratified (classification) or random (regression) hold-out.</summary>
    public double TestFraction { get; init; } = 0.2;
    /// <summary>lstm (when null), transformer, tfidf, wordvec (ML.NET's ApplyWordEmbedding with GlovePath, averaged, +
    /// SDCA) or checkpoint:DIR. An experiment chooses its own candidates: leave it null there.</summary>
    public string? Encoder { get; init; }
    /// <summary>What is predicted; null (default) decides from the labels: numeric with more than 10 values → regression,
    /// 2 classes → binary, else multiclass.</summary>
    public TaskKind? Task { get; init; }
    /// <summary>Binary only: the class that becomes true (default: the second in ordinal order).</summary>
    public string? PositiveClass { get; init; }
    /// <summary>Keep only rows of the N most frequent classes (before splitting).</summary>
    public int? MaxClasses { get; init; }
    public string? GlovePath { get; init; }
    public int Seed { get; init; } = 1;
    /// <summary>Trainer options for the neural encoders (null: the defaults; Encoder, CheckpointPath and the columns are
    /// set by the job). An experiment sweeps its own: leave it null there.</summary>
    public TextTrainerOptions? Trainer { get; init; }

    internal string EncoderName => Encoder ?? "lstm";
}

/// <summary>Test-set metrics as metrics.json holds them.</summary>
public sealed record TextJobMetrics
{
    public required string Task { get; init; }
    public required string Encoder { get; init; }
    public double? Accuracy { get; init; }
    public double? MacroF1 { get; init; }
    public double? LogLoss { get; init; }
    public double? Auc { get; init; }
    public double? RSquared { get; init; }
    public double? Mae { get; init; }
    /// <summary>Test rows whose label never occurred in training (counted as wrong in <see cref="Accuracy"/>); null when none.</summary>
    public int? UnseenLabelRows { get; init; }
    public required double TrainSeconds { get; init; }
    public required int Rows { get; init; }
    public required int TestRows { get; init; }
    public string[]? Classes { get; init; }
    public IReadOnlyList<EpochReport>? Epochs { get; init; }
    /// <summary>The resolved precision the neural encoder trained and scored in ("fp32" or "bf16"); null for tfidf and wordvec.</summary>
    public string? Precision { get; init; }
}
