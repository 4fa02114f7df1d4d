
namespace MlNetLlm.Transforms.FeatureSelection;

public sealed partial class LlmFeatureSelectionEstimator
{
    /// <summary>Settings of <see cref="LlmFeatureSelectionEstimator"/>.</summary>
    public sealed class Options
    {
        /// <summary>The label: Boolean, number, key or text.</summary>
        public string LabelColumnName = "Label";
        /// <summary>
        /// Binary, multiclass or regression. Auto: two distinct values are binary; numbers are regression unless they are
        /// at most 10 distinct integers with at least two rows each (multiclass); other text is multiclass.
        /// </summary>
        public LabelKind LabelKind = LabelKind.Auto;
        /// <summary>Candidate columns; empty = every scalar column except the label.</summary>
        public string[] FeatureColumnNames = [];
        /// <summary>Text columns to featurize as free text (words); other text columns are categorical (one-hot).</summary>
        public string[] TextColumnNames = [];
        /// <summary>The vector column the transformer adds.</summary>
        public string OutputColumnName = "Features";

        /// <summary>What is being predicted and why, in plain words; the LLM judges features against it.</summary>
        public string TaskDescription = "";
        /// <summary>What the label means (optional; a description keyed by the label's name does the same).</summary>
        public string? LabelDescription;
        /// <summary>Optional per-column descriptions (units, coding, meaning) shown to the LLM. Every key must be a candidate or the label.</summary>
        public Dictionary<string, string> ColumnDescriptions = [];

        public FeatureSelectionMode Mode = FeatureSelectionMode.Blend;
        /// <summary>The data score: L1 path (default), mutual information, or their mean.</summary>
        public DataEvidenceKind DataEvidence = DataEvidenceKind.L1;

        /// <summary>Keep this many columns. Set at most one of KeepCount, KeepFraction, ScoreThreshold; none = half.</summary>
        public int? KeepCount;
        /// <summary>Keep this fraction (0–1] of the usable candidate columns, rounded, at least one.</summary>
        public double? KeepFraction;
        /// <summary>Keep columns whose final score is at least this (at least the best one is kept).</summary>
        public double? ScoreThreshold;

        /// <summary>
        /// The local language prior when no chat client is given: a bundled sentence encoder (<c>arctic-xs</c>, trained for
        /// query → passage retrieval, or <c>minilm</c>) or a checkpoint folder; null = none. Needs the MlNetLlm.Models
        /// assembly for the bundled names.
        /// </summary>
        public string? LocalPrior;
        /// <summary>Text put before the task for the local prior's query; null = the arctic-embed instruction for arctic models, none otherwise.</summary>
        public string? LocalPriorQueryPrefix;

        /// <summary>Which label value is the positive class (binary labels; only changes the wording of the report).</summary>
        public string? PositiveLabel;

        /// <summary>Features per LLM prompt; wide tables are scored in several prompts.</summary>
        public int BatchSize = 25;
        /// <summary>Further attempts per batch after a malformed, partial, refused or timed-out reply.</summary>
        public int MaxRetries = 2;
        /// <summary>Time limit of one LLM request.</summary>
        public TimeSpan RequestTimeout = TimeSpan.FromSeconds(120);
        /// <summary>Time limit of all LLM requests of one fit; afterwards the data evidence stands in.</summary>
        public TimeSpan LlmTimeBudget = TimeSpan.FromMinutes(15);
        /// <summary>Model name for the request and the cache key when the client does not say (or to override it).</summary>
        public string? ModelId;
        /// <summary>Folder of cached LLM replies; null or empty = no cache.</summary>
        public string? CacheDirectory = DefaultCacheDirectory;

        /// <summary>Folds of the cross-validation that picks the LLM weight in blend mode.</summary>
        public int CrossValidationFolds = 5;
        /// <summary>Candidate LLM weights in blend mode (0 is always added).</summary>
        public double[] TrustWeights = [0, 0.25, 0.5, 0.75, 1];
        /// <summary>Equal-frequency bins for the mutual information of numeric columns.</summary>
        public int MutualInformationBins = 10;
        /// <summary>Most frequent levels one-hot encoded per categorical column; rarer levels encode as all zeros.</summary>
        public int MaxCategories = 100;
        public int Seed = 42;
        /// <summary>Progress and LLM problems as they happen (the report keeps the summary).</summary>
        public Action<string>? Log;

        public static string DefaultCacheDirectory =>
            Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify),
                "MlNetLlm", "llm-feature-scores");
    }

    private static void Validate(Options o)
    {
        if (string.IsNullOrWhiteSpace(o.LabelColumnName)) throw new ArgumentException("Options.LabelColumnName must name the label column.", nameof(o.LabelColumnName));
        if (string.IsNullOrWhiteSpace(o.OutputColumnName)) throw new ArgumentException("Options.OutputColumnName must not be empty.", nameof(o.OutputColumnName));
        foreach (var (names, option) in new[] { (o.FeatureColumnNames, "Options.FeatureColumnNames"), (o.TextColumnNames, "Options.TextColumnNames") })
            if (names.Contains(o.LabelColumnName, StringComparer.Ordinal))
                throw new ArgumentException($"Column '{o.LabelColumnName}' is the label (Options.LabelColumnName); {option} cannot also name it: the selection would score the answer it is asked to predict.");
        int rules = (o.KeepCount is null ? 0 : 1) + (o.KeepFraction is null ? 0 : 1) + (o.ScoreThreshold is null ? 0 : 1);
        if (rules > 1) throw new ArgumentException("Set only one of Options.KeepCount, Options.KeepFraction and Options.ScoreThreshold.");
        if (o.KeepCount is < 1) throw new ArgumentOutOfRangeException(nameof(o.KeepCount), o.KeepCount, "Options.KeepCount must be at least 1.");
        if (o.KeepFraction is { } f && !(f > 0 && f <= 1)) throw new ArgumentOutOfRangeException(nameof(o.KeepFraction), f, "Options.KeepFraction must be in (0, 1].");
        if (o.ScoreThreshold is { } s && !(s >= 0 && s <= 1)) throw new ArgumentOutOfRangeException(nameof(o.ScoreThreshold), s, "Options.ScoreThreshold must be in [0, 1].");
        if (o.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(o.BatchSize), o.BatchSize, "Options.BatchSize must be at least 1.");
        if (o.MaxRetries < 0) throw new ArgumentOutOfRangeException(nameof(o.MaxRetries), o.MaxRetries, "Options.MaxRetries must be 0 or more.");
        if (o.RequestTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(o.RequestTimeout), o.RequestTimeout, "Options.RequestTimeout must be positive.");
        if (o.LlmTimeBudget <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(o.LlmTimeBudget), o.LlmTimeBudget, "Options.LlmTimeBudget must be positive.");
        if (o.CrossValidationFolds < 2) throw new ArgumentOutOfRangeException(nameof(o.CrossValidationFolds), o.CrossValidationFolds, "Options.CrossValidationFolds must be at least 2.");
        if (o.TrustWeights.Any(w => !(w >= 0 && w <= 1))) throw new ArgumentOutOfRangeException(nameof(o.TrustWeights), "Options.TrustWeights must lie in [0, 1].");
        if (o.MutualInformationBins < 2) throw new ArgumentOutOfRangeException(nameof(o.MutualInformationBins), o.MutualInformationBins, "Options.MutualInformationBins must be at least 2.");
        if (o.MaxCategories < 1) throw new ArgumentOutOfRangeException(nameof(o.MaxCategories), o.MaxCategories, "Options.MaxCategories must be at least 1.");
        if (o.Mode != FeatureSelectionMode.Data && string.IsNullOrWhiteSpace(o.TaskDescription))
            throw new ArgumentException($"Options.TaskDescription is needed in {o.Mode.ToString().ToLowerInvariant()} mode: the LLM judges features against the task.", nameof(o.TaskDescription));
    }
}
