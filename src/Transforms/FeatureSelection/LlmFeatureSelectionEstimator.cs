using System.Globalization;
using Microsoft.Extensions.AI;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Training;
using MlNetLlm.Transforms.Embeddings;

namespace MlNetLlm.Transforms.FeatureSelection;

/// <summary>
/// Selects feature columns for a binary, multiclass or regression label by blending a language prior on each column
/// (an LLM's judgement, LLM-Score, or a local sentence encoder's similarity, from names, descriptions and the task)
/// with data evidence (mutual information and an L1 path: logistic, multinomial or Lasso), and outputs the kept columns as one Features vector (numbers mean-imputed, text levels one-hot encoded,
/// free text featurized). In blend mode the LLM's weight is chosen by cross-validation on the training data, with
/// weight 0 (data only) among the candidates (the LLM-Lasso idea), so trusting the prior never costs the
/// cross-validated metric (AUROC, macro one-vs-rest AUROC, R²).
/// Create it with <c>mlContext.Transforms.FeatureSelection.SelectFeaturesWithLlm(...)</c>.
/// </summary>
public sealed class LlmFeatureSelectionEstimator : IEstimator<LlmFeatureSelectionTransformer>
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

    /// <summary>The query instruction arctic-embed was trained with; <see cref="Options.LocalPriorQueryPrefix"/> for an arctic encoder passed in.</summary>
    public const string ArcticQueryPrefix = EmbeddingFeatureScorer.ArcticQueryPrefix;

    private readonly Options _options;
    private readonly IChatClient? _chatClient;
    private readonly IEmbeddingGenerator<string, Embedding<float>>? _embeddings;

    /// <param name="chatClient">
    /// Any Microsoft.Extensions.AI chat client (OllamaSharp, OpenAI, Azure OpenAI, LLamaSharp...); null uses
    /// <see cref="Options.LocalPrior"/> when set, and otherwise runs data mode and says so.
    /// </param>
    public LlmFeatureSelectionEstimator(Options options, IChatClient? chatClient = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _chatClient = chatClient;
        Validate(options);
    }

    /// <param name="embeddingGenerator">
    /// A sentence encoder for the local language prior (the cosine similarity of each column's name and description
    /// to the task); <see cref="Options.LocalPriorQueryPrefix"/> is put before the task when the model wants one.
    /// </param>
    public LlmFeatureSelectionEstimator(Options options, IEmbeddingGenerator<string, Embedding<float>> embeddingGenerator)
        : this(options, chatClient: null) =>
        _embeddings = embeddingGenerator ?? throw new ArgumentNullException(nameof(embeddingGenerator));

    private static void Validate(Options o)
    {
        if (string.IsNullOrWhiteSpace(o.LabelColumnName)) throw new ArgumentException("Options.LabelColumnName must name the label column.", nameof(o.LabelColumnName));
        if (string.IsNullOrWhiteSpace(o.OutputColumnName)) throw new ArgumentException("Options.OutputColumnName must not be empty.", nameof(o.OutputColumnName));
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

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var names = inputSchema.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        if (!names.Contains(_options.LabelColumnName))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{_options.LabelColumnName}' not found in the input schema.");
        foreach (var f in _options.FeatureColumnNames)
            if (!names.Contains(f))
                throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Feature column '{f}' not found in the input schema.");
        // SchemaShape.Column has no public constructor: let public estimators describe "a Single vector named Output"
        // (label → Single → a one-slot vector → renamed), which is what Fit's output column is.
        var ml = new MLContext();
        const string tmp = "__llmfs_shape";
        return ml.Transforms.Conversion.ConvertType(tmp, _options.LabelColumnName, DataKind.Single)
            .Append(ml.Transforms.Concatenate(_options.OutputColumnName, tmp))
            .Append(ml.Transforms.DropColumns(tmp))
            .GetOutputSchema(inputSchema);
    }

    public LlmFeatureSelectionTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = _options;
        var notes = new List<string>();
        var schema = input.Schema;
        var labelCol = schema.GetColumnOrNull(o.LabelColumnName)
                       ?? throw new ArgumentOutOfRangeException(nameof(input), $"Label column '{o.LabelColumnName}' not found in the input schema (columns: {ColumnList(schema)}).");
        var candidates = Candidates(schema, o, notes);
        string? labelDescription = LabelDescription(schema, o, candidates);
        var table = FeatureTable.Read(input, labelCol, candidates, o.LabelKind, o.PositiveLabel);
        Log($"Read {table.RowCount} labelled rows, {candidates.Count} candidate columns; {table.Target.Summary}.");
        var (eligible, excluded) = Usable(table, notes);
        var keep = KeepRule.From(o, eligible.Count);
        var prior = ScorePrior(table, eligible, new PriorQuestion(o.TaskDescription, o.LabelColumnName, labelDescription, TaskKindText(table.Target)), notes);
        var allRows = Enumerable.Range(0, table.RowCount).ToArray();
        var evidence = DataEvidence.Compute(table, allRows, eligible, o.DataEvidence, o.MutualInformationBins, o.MaxCategories, o.Seed);
        var (weight, cv) = prior.Mode switch
        {
            FeatureSelectionMode.Blend => ChooseWeight(table, eligible, prior.Scores, keep, o, notes),
            FeatureSelectionMode.Llm => (1.0, new List<TrustWeightScore>()),
            _ => (0.0, new List<TrustWeightScore>()),
        };
        if (prior.Mode == FeatureSelectionMode.Blend) Log($"Cross-validated prior weight: {weight.ToString("0.00", CultureInfo.InvariantCulture)}.");
        var final = Blend(eligible, prior.Scores, evidence.Score, weight, table.Columns.Count);
        var kept = keep.Select(eligible, final).ToHashSet();
        var report = Report(table, prior, evidence, final, kept, excluded, eligible, weight, cv, keep, notes);
        var keptColumns = Enumerable.Range(0, table.Columns.Count).Where(kept.Contains).Select(c => table.Columns[c]).ToList();
        var ml = new MLContext(o.Seed);
        var inner = BuildFeaturizer(ml, keptColumns, candidates.ToDictionary(c => c.Column.Name, c => c.Column.Type), allRows, table, o).Fit(input);
        CheckSlotNames(inner.GetOutputSchema(schema), o.OutputColumnName, keptColumns);
        Log($"Kept {keptColumns.Count} of {table.Columns.Count} columns: {string.Join(", ", report.KeptColumns)}.");
        return new LlmFeatureSelectionTransformer(ml, inner, schema, report, keptColumns.Select(c => c.Name).ToArray(), o.OutputColumnName);
    }

    private void Log(string message) => _options.Log?.Invoke(message);

    /// <summary>The candidate columns and how each is encoded; unusable types are refused when named, left out (with a note) otherwise.</summary>
    private static List<(DataViewSchema.Column Column, FeatureKind Kind)> Candidates(DataViewSchema schema, Options o, List<string> notes)
    {
        var candidates = new List<(DataViewSchema.Column Column, FeatureKind Kind)>();
        var explicitColumns = o.FeatureColumnNames.Length > 0;
        if (explicitColumns && o.FeatureColumnNames.Distinct(StringComparer.Ordinal).Count() != o.FeatureColumnNames.Length)
            throw new ArgumentException($"Options.FeatureColumnNames names column '{o.FeatureColumnNames.GroupBy(n => n).First(g => g.Count() > 1).Key}' more than once.");
        var textSet = new HashSet<string>(o.TextColumnNames, StringComparer.Ordinal);
        IEnumerable<string> names = explicitColumns
            ? o.FeatureColumnNames
            : schema.Where(c => !c.IsHidden && c.Name != o.LabelColumnName && c.Name != o.OutputColumnName).Select(c => c.Name);
        foreach (var name in names)
        {
            if (name == o.LabelColumnName)
                throw new ArgumentException($"Column '{name}' is the label; it cannot also be a feature column.");
            var col = schema.GetColumnOrNull(name)
                      ?? throw new ArgumentOutOfRangeException("input", $"Feature column '{name}' not found in the input schema (columns: {ColumnList(schema)}).");
            FeatureKind? kind = col.Type is TextDataViewType ? (textSet.Contains(name) ? FeatureKind.Text : FeatureKind.Categorical)
                : FeatureTable.IsNumericType(col.Type) ? FeatureKind.Numeric : null;
            if (kind is null)
            {
                string why = $"Column '{name}' has type {col.Type}; feature columns must be scalar numbers, Booleans or text.";
                if (explicitColumns) throw new ArgumentException(why);
                notes.Add(why + " It was left out.");
                continue;
            }
            if (textSet.Contains(name) && kind != FeatureKind.Text)
                throw new ArgumentException($"Column '{name}' is listed in Options.TextColumnNames but has type {col.Type}, not text.");
            candidates.Add((col, kind.Value));
        }
        foreach (var t in textSet)
            if (!candidates.Any(c => c.Column.Name == t))
                throw new ArgumentException($"Options.TextColumnNames names '{t}', which is not a candidate feature column.");
        if (candidates.Any(c => c.Column.Name == o.OutputColumnName))
            throw new ArgumentException($"Output column '{o.OutputColumnName}' is also a candidate feature column; set Options.OutputColumnName to another name.");
        if (candidates.Count == 0)
            throw new ArgumentException($"No candidate feature columns: the input has no scalar number or text column besides label '{o.LabelColumnName}'.");
        return candidates;
    }

    /// <summary>Checks every description names a candidate (or the label) and returns the label's description.</summary>
    private static string? LabelDescription(DataViewSchema schema, Options o, List<(DataViewSchema.Column Column, FeatureKind Kind)> candidates)
    {
        string? labelDescription = o.LabelDescription;
        foreach (var (key, text) in o.ColumnDescriptions)
        {
            if (key == o.LabelColumnName) { labelDescription ??= text; continue; }
            if (!candidates.Any(c => c.Column.Name == key))
                throw new ArgumentException($"The descriptions name column '{key}', which is not " +
                                            (schema.GetColumnOrNull(key) is null ? "in the data" : "a candidate feature column") +
                                            $" (candidates: {string.Join(", ", candidates.Select(c => c.Column.Name))}).");
        }
        return labelDescription;
    }

    /// <summary>The columns that can carry evidence, and why the others cannot (constant, all missing).</summary>
    private static (List<int> Eligible, Dictionary<int, string> Excluded) Usable(FeatureTable table, List<string> notes)
    {
        var excluded = new Dictionary<int, string>();
        for (int c = 0; c < table.Columns.Count; c++)
            if (FeatureTable.Uselessness(table.Columns[c]) is { } why) excluded[c] = why;
        var eligible = Enumerable.Range(0, table.Columns.Count).Where(c => !excluded.ContainsKey(c)).ToList();
        if (excluded.Count > 0)
            notes.Add($"Not usable as features: {string.Join("; ", excluded.Select(e => $"'{table.Columns[e.Key].Name}' ({e.Value})"))}.");
        if (eligible.Count == 0)
            throw new ArgumentException($"None of the candidate columns can be a feature: {string.Join("; ", excluded.Select(e => $"'{table.Columns[e.Key].Name}' is {e.Value}"))}.");
        return (eligible, excluded);
    }

    /// <summary>How the prompt and the local prior's query name the task.</summary>
    internal static string TaskKindText(TaskLabel y) => y.Kind switch
    {
        LabelKind.Binary => $"binary classification (classes '{y.ClassNames[0]}' and '{y.ClassNames[1]}')",
        LabelKind.Multiclass => $"multiclass classification, {y.ClassCount} classes ({string.Join(", ", y.ClassNames.Take(12).Select(c => $"'{c}'"))}{(y.ClassCount > 12 ? ", ..." : "")})",
        _ => "regression (the target is a number)",
    };

    /// <summary>The prior's scores per column and the mode that can run with them.</summary>
    private sealed record PriorScores(FeatureSelectionMode Mode, double?[] Scores, string?[] Reasons, bool FellBack, string? Model, int Requests, int CacheHits);

    /// <summary>
    /// The language prior (an LLM, or the local sentence encoder) for the usable columns. Without a prior, or when it
    /// gives no score at all, data mode runs and the notes say why; columns it missed use their data score.
    /// </summary>
    private PriorScores ScorePrior(FeatureTable table, List<int> eligible, PriorQuestion question, List<string> notes)
    {
        var o = _options;
        int n = table.Columns.Count;
        var none = new PriorScores(FeatureSelectionMode.Data, new double?[n], new string?[n], o.Mode != FeatureSelectionMode.Data, null, 0, 0);
        if (o.Mode == FeatureSelectionMode.Data) return none with { FellBack = false };
        using var owned = _chatClient is null && _embeddings is null && o.LocalPrior is { Length: > 0 } local ? LoadLocalPrior(local) : null;
        IFeaturePriorScorer? scorer = _chatClient is not null ? new LlmFeatureScorer(_chatClient, o, o.Log)
            : (_embeddings ?? owned) is { } g ? new EmbeddingFeatureScorer(g, o.LocalPriorQueryPrefix ?? DefaultQueryPrefix(o.LocalPrior), owned is null ? null : o.LocalPrior)
            : null;
        string mode = o.Mode.ToString().ToLowerInvariant();
        if (scorer is null)
        {
            notes.Add($"No LLM configured: ran data mode instead of {mode} mode.");
            return none;
        }
        var prompts = eligible.Select(c => new FeaturePrompt(table.Columns[c].Name, table.Columns[c].Kind, o.ColumnDescriptions.GetValueOrDefault(table.Columns[c].Name))).ToList();
        // Task.Run: no caller synchronisation context can deadlock the blocking wait; every request is time-limited.
        var outcome = Task.Run(() => scorer.ScoreAsync(prompts, question, CancellationToken.None)).GetAwaiter().GetResult();
        notes.AddRange(outcome.Notes);
        var scores = new double?[n];
        var reasons = new string?[n];
        foreach (int c in eligible)
            if (outcome.Scores.TryGetValue(table.Columns[c].Name, out var s)) { scores[c] = s.Score; reasons[c] = s.Reason; }
        int scored = eligible.Count(c => scores[c] is not null);
        var result = new PriorScores(o.Mode, scores, reasons, false, outcome.ModelId, outcome.Requests, outcome.CacheHits);
        Log($"The prior ({outcome.ModelId}) scored {scored} of {eligible.Count} columns ({outcome.Requests} requests, {outcome.CacheHits} from cache).");
        if (scored == 0)
        {
            notes.Add($"The LLM ({outcome.ModelId}) gave no usable score ({outcome.GaveUp ?? outcome.LastProblem ?? "no reply"}): " +
                      $"fell back to data evidence (data mode instead of {mode} mode).");
            return result with { Mode = FeatureSelectionMode.Data, FellBack = true };
        }
        if (scored < eligible.Count)
        {
            var missing = eligible.Where(c => scores[c] is null).Select(c => $"'{table.Columns[c].Name}'").ToList();
            notes.Add($"The LLM gave no usable score for {missing.Count} of {eligible.Count} columns ({string.Join(", ", missing.Take(10))}{(missing.Count > 10 ? ", ..." : "")}" +
                      $"; {outcome.GaveUp ?? outcome.LastProblem}): their data score stands in for it.");
        }
        return result;
    }

    internal static string? DefaultQueryPrefix(string? localPrior) =>
        localPrior is not null && Path.GetFileName(localPrior.TrimEnd('/', '\\')).Contains("arctic", StringComparison.OrdinalIgnoreCase)
            ? EmbeddingFeatureScorer.ArcticQueryPrefix : null;

    /// <summary>The bundled (or a folder's) sentence encoder for <see cref="Options.LocalPrior"/>, with the pooling it was trained with.</summary>
    private static TransformerEmbeddingGenerator LoadLocalPrior(string nameOrFolder)
    {
        string folder = CheckpointLocator.Resolve(nameOrFolder);
        var pooling = DefaultQueryPrefix(nameOrFolder) is null ? Pooling.Mean : Pooling.Cls; // arctic-embed: CLS; sentence-transformers: mean
        return TransformerEmbeddingGenerator.FromCheckpoint(folder, new TextEmbeddingOptions { Normalize = true, Pooling = pooling });
    }

    private FeatureSelectionReport Report(FeatureTable table, PriorScores prior, DataEvidence evidence, double[] final, HashSet<int> kept,
        Dictionary<int, string> excluded, List<int> eligible, double weight, List<TrustWeightScore> cv, KeepRule keep, List<string> notes)
    {
        var o = _options;
        var ranked = eligible.OrderByDescending(c => final[c]).ThenBy(c => c).ToList();
        var report = new FeatureSelectionReport
        {
            Task = o.TaskDescription,
            LabelColumn = o.LabelColumnName,
            LabelKind = table.Target.Kind,
            Label = table.Target.Summary,
            RequestedMode = o.Mode,
            Mode = prior.Mode,
            DataEvidence = o.DataEvidence,
            LlmModel = prior.Model,
            LlmRequests = prior.Requests,
            LlmCacheHits = prior.CacheHits,
            FellBackToData = prior.FellBack,
            KeepRule = keep.Description,
            LlmWeight = weight,
            CrossValidation = cv,
            CrossValidationMetric = cv.Count > 0 ? MetricName(table.Target.Kind) : null,
            Notes = notes,
        };
        for (int c = 0; c < table.Columns.Count; c++)
        {
            var col = table.Columns[c];
            report.Features.Add(new FeatureScore
            {
                Name = col.Name,
                Kind = col.Kind,
                LlmScore = prior.Scores[c],
                LlmReason = prior.Reasons[c],
                MutualInformation = evidence.MutualInformation[c],
                L1 = evidence.L1[c],
                DataScore = evidence.Score[c],
                Score = final[c],
                Rank = excluded.ContainsKey(c) ? 0 : ranked.IndexOf(c) + 1,
                Kept = kept.Contains(c),
                Note = excluded.TryGetValue(c, out var why) ? $"excluded: {why}"
                    : prior.Mode != FeatureSelectionMode.Data && prior.Scores[c] is null ? "no LLM score: data score used" : null,
            });
        }
        return report;
    }

    /// <summary>The cross-validation metric of each label kind (higher is better for all three).</summary>
    internal static string MetricName(LabelKind kind) => kind switch
    {
        LabelKind.Binary => "AUROC",
        LabelKind.Multiclass => "macro one-vs-rest AUROC",
        _ => "R²",
    };

    private static double[] Blend(IReadOnlyList<int> eligible, double?[] llm, double[] data, double weight, int n)
    {
        var s = new double[n];
        foreach (int c in eligible) s[c] = weight * (llm[c] ?? data[c]) + (1 - weight) * data[c];
        return s;
    }

    /// <summary>
    /// The LLM-Lasso step: for each candidate weight, the validation score (AUROC, macro one-vs-rest AUROC or R², by
    /// label kind) of an L2-regularised linear model on the columns that weight keeps, averaged over stratified folds,
    /// with the data evidence recomputed on each fold's training part (no peeking at the validation rows). Weight 0 is
    /// always a candidate and wins ties, so the chosen weight is never worse than data-only on these folds.
    /// </summary>
    private static (double Weight, List<TrustWeightScore> Scores) ChooseWeight(FeatureTable t, List<int> eligible, double?[] llm, KeepRule keep, Options o, List<string> notes)
    {
        var weights = o.TrustWeights.Append(0).Distinct().Order().ToArray();
        var rows = Enumerable.Range(0, t.RowCount).ToArray();
        var (folds, strata) = Folds(t.Target, rows, o.CrossValidationFolds);
        if (folds < 2)
        {
            notes.Add($"Too few rows {(t.Target.Kind == LabelKind.Regression ? "" : "in the smallest class ")}for {o.CrossValidationFolds}-fold cross-validation: the prior weight is 0 (data only).");
            return (0, [new TrustWeightScore { Weight = 0, MeanScore = double.NaN }]);
        }
        var foldOf = LinearEvidence.StratifiedFolds(strata, folds, o.Seed);
        var sums = new double[weights.Length];
        for (int f = 0; f < folds; f++)
        {
            var train = rows.Where(r => foldOf[r] != f).ToArray();
            var valid = rows.Where(r => foldOf[r] == f).ToArray();
            var ev = DataEvidence.Compute(t, train, eligible, o.DataEvidence, o.MutualInformationBins, o.MaxCategories, o.Seed);
            var scoreBySet = new Dictionary<string, double>();
            for (int w = 0; w < weights.Length; w++)
            {
                var chosen = keep.Select(eligible, Blend(eligible, llm, ev.Score, weights[w], t.Columns.Count)).Order().ToList();
                string key = string.Join(",", chosen);
                if (!scoreBySet.TryGetValue(key, out double score))
                    scoreBySet[key] = score = LinearEvidence.ValidationScore(t, train, valid, chosen, o.MaxCategories, o.Seed);
                sums[w] += score;
            }
        }
        var scores = weights.Select((w, i) => new TrustWeightScore { Weight = w, MeanScore = sums[i] / folds }).ToList();
        // Strictly better only: on a tie the smaller weight (less trust in the LLM) stays.
        var best = scores[0];
        foreach (var s in scores.Skip(1))
            if (s.MeanScore > best.MeanScore + 1e-12) best = s;
        return (best.Weight, scores);
    }

    /// <summary>
    /// How many folds, and the strata they are balanced over: classes (at most as many folds as the smallest class
    /// has rows), or five equal-frequency bins of a continuous label (at most half the rows).
    /// </summary>
    private static (int Folds, int[] Strata) Folds(TaskLabel y, int[] rows, int requested)
    {
        if (y.Kind == LabelKind.Regression) return (Math.Min(requested, rows.Length / 2), y.Codes(rows, 5));
        var counts = new int[y.ClassCount];
        foreach (int r in rows) counts[y.Class[r]]++;
        return (Math.Min(requested, counts.Min()), y.Codes(rows, 0));
    }

    /// <summary>
    /// The inner ML.NET pipeline: each kept column is copied aside, encoded in place (so Concatenate names the slots
    /// after the column: "age", "color.red"), concatenated into the output, and the original restored, so the output
    /// keeps every input column unchanged plus the Features vector.
    /// </summary>
    private static IEstimator<ITransformer> BuildFeaturizer(MLContext ml, List<FeatureColumnData> kept, Dictionary<string, DataViewType> types,
        int[] rows, FeatureTable table, Options o)
    {
        var steps = new List<IEstimator<ITransformer>>();
        var stash = kept.Select((c, i) => $"__llmfs_{i}_{c.Name}").ToArray();
        for (int i = 0; i < kept.Count; i++)
            steps.Add(ml.Transforms.CopyColumns(stash[i], kept[i].Name));
        foreach (var c in kept)
        {
            switch (c.Kind)
            {
                case FeatureKind.Numeric:
                    if (types[c.Name] != NumberDataViewType.Single)
                        steps.Add(ml.Transforms.Conversion.ConvertType(c.Name, c.Name, DataKind.Single));
                    steps.Add(ml.Transforms.ReplaceMissingValues(c.Name, c.Name, MissingValueReplacingEstimator.ReplacementMode.Mean));
                    break;
                case FeatureKind.Categorical:
                {
                    // The same levels as the data evidence saw: the most frequent ones, in frequency order.
                    var levels = DesignEncoder.TopLevels(c.Texts!, rows, o.MaxCategories);
                    var keyData = new InMemoryDataViewBuilder(levels.Count).AddText("Level", levels.ToArray()).Build();
                    steps.Add(ml.Transforms.Conversion.MapValueToKey(c.Name, c.Name, keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByOccurrence, keyData: keyData));
                    steps.Add(ml.Transforms.Conversion.MapKeyToVector(c.Name, c.Name));
                    break;
                }
                case FeatureKind.Text:
                    steps.Add(ml.Transforms.Text.FeaturizeText(c.Name, c.Name));
                    break;
            }
        }
        steps.Add(ml.Transforms.Concatenate(o.OutputColumnName, kept.Select(c => c.Name).ToArray()));
        for (int i = 0; i < kept.Count; i++)
            steps.Add(ml.Transforms.CopyColumns(kept[i].Name, stash[i]));
        steps.Add(ml.Transforms.DropColumns(stash));
        var chain = new EstimatorChain<ITransformer>();
        foreach (var step in steps) chain = chain.Append(step);
        return chain;
    }

    /// <summary>Two kept columns giving one slot name (a column "color.red" beside a level "red" of "color") would make the Features vector ambiguous.</summary>
    private static void CheckSlotNames(DataViewSchema output, string outputColumn, List<FeatureColumnData> kept)
    {
        var col = output[outputColumn];
        if (!col.HasSlotNames()) return;
        VBuffer<ReadOnlyMemory<char>> names = default;
        col.GetSlotNames(ref names);
        foreach (var dup in names.DenseValues().Select(v => v.ToString()).GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            // Concatenate names a slot "column" or "column.slot": the columns that could have produced this name.
            var from = kept.Select(k => k.Name).Where(n => dup.Key == n || dup.Key.StartsWith(n + ".", StringComparison.Ordinal)).ToList();
            if (from.Count >= 2)
                throw new ArgumentException($"Feature slot name '{dup.Key}' would come from more than one column ({string.Join(", ", from.Select(f => $"'{f}'"))}): " +
                                            "a one-hot level of one column reads like another column's name; rename one of the columns.");
        }
    }

    private static string ColumnList(DataViewSchema s)
    {
        var names = s.Where(c => !c.IsHidden).Select(c => c.Name).ToList();
        return string.Join(", ", names.Take(30)) + (names.Count > 30 ? ", ..." : "");
    }

    /// <summary>Top k, a fraction, or a threshold, applied to scores of the usable columns.</summary>
    internal sealed class KeepRule
    {
        private int? _count;
        private double? _threshold;
        public string Description { get; private init; } = "";

        public static KeepRule From(Options o, int usable)
        {
            if (o.ScoreThreshold is { } t)
                return new KeepRule { _threshold = t, Description = $"score >= {t.ToString("0.###", CultureInfo.InvariantCulture)}" };
            if (o.KeepCount is { } k)
                return new KeepRule { _count = Math.Min(k, usable), Description = k > usable ? $"top {k} (all {usable} usable)" : $"top {k}" };
            double f = o.KeepFraction ?? 0.5;
            int n = Math.Clamp((int)Math.Round(f * usable, MidpointRounding.AwayFromZero), 1, usable);
            return new KeepRule { _count = n, Description = $"{(f * 100).ToString("0.#", CultureInfo.InvariantCulture)}% ({n} of {usable})" };
        }

        public IEnumerable<int> Select(IReadOnlyList<int> eligible, double[] scores)
        {
            var ordered = eligible.OrderByDescending(c => scores[c]).ThenBy(c => c).ToList();
            if (_count is { } k) return ordered.Take(k);
            var above = ordered.Where(c => scores[c] >= _threshold!.Value).ToList();
            return above.Count > 0 ? above : ordered.Take(1);
        }
    }
}

