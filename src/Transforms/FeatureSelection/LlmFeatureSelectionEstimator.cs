using System.Globalization;
using Microsoft.Extensions.AI;
using Microsoft.ML;
using Microsoft.ML.Data;
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
public sealed partial class LlmFeatureSelectionEstimator : IEstimator<LlmFeatureSelectionTransformer>
{
    /// <summary>The query instruction arctic-embed was trained with; <see cref="Options.LocalPriorQueryPrefix"/> for an arctic encoder passed in.</summary>
    public const string ArcticQueryPrefix = EmbeddingFeatureScorer.ArcticQueryPrefix;

    private readonly Options _options;
    private readonly IChatClient? _chatClient;
    private readonly IEmbeddingGenerator<string, Embedding<float>>? _embeddings;

    /// <param name="chatClient">
    /// Any Microsoft.Extensions.AI chat client (OllamaSharp, OpenAI, Azure OpenAI, LLamaSharp...); null uses
    /// <see cref="Options.LocalPrior"/> when set, and otherwise runs data mode and says so.
    /// </param>
    internal LlmFeatureSelectionEstimator(Options options, IChatClient? chatClient = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _chatClient = chatClient;
        Validate(options);
    }

    /// <param name="embeddingGenerator">
    /// A sentence encoder for the local language prior (the cosine similarity of each column's name and description
    /// to the task); <see cref="Options.LocalPriorQueryPrefix"/> is put before the task when the model wants one.
    /// </param>
    internal LlmFeatureSelectionEstimator(Options options, IEmbeddingGenerator<string, Embedding<float>> embeddingGenerator)
        : this(options, chatClient: null) =>
        _embeddings = embeddingGenerator ?? throw new ArgumentNullException(nameof(embeddingGenerator));

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

    // arctic-embed (query instruction, CLS pooling) or a sentence-transformers model (no instruction, mean pooling), by name.
    private static bool IsArctic(string? localPrior) =>
        localPrior is not null && Path.GetFileName(localPrior.TrimEnd('/', '\\')).Contains("arctic", StringComparison.OrdinalIgnoreCase);

    internal static string? DefaultQueryPrefix(string? localPrior) => IsArctic(localPrior) ? EmbeddingFeatureScorer.ArcticQueryPrefix : null;

    /// <summary>The bundled (or a folder's) sentence encoder for <see cref="Options.LocalPrior"/>, with the pooling it was trained with.</summary>
    private static TransformerEmbeddingGenerator LoadLocalPrior(string nameOrFolder)
    {
        string folder = CheckpointLocator.Resolve(nameOrFolder);
        var pooling = IsArctic(nameOrFolder) ? Pooling.Cls : Pooling.Mean;
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

    private static string ColumnList(DataViewSchema s)
    {
        var names = s.Where(c => !c.IsHidden).Select(c => c.Name).ToList();
        return string.Join(", ", names.Take(30)) + (names.Count > 30 ? ", ..." : "");
    }

}

