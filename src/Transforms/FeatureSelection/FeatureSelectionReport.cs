using System.Globalization;
using System.Text;

namespace MlNetLlm.Transforms.FeatureSelection;

/// <summary>Where the final feature scores come from.</summary>
public enum FeatureSelectionMode
{
    /// <summary>The language model's importance scores alone (LLM-Score): the data is not looked at to rank.</summary>
    Llm,
    /// <summary>Data evidence alone (mutual information and/or L1 logistic regression).</summary>
    Data,
    /// <summary>
    /// weight × LLM score + (1 − weight) × data score, with the weight chosen by cross-validation on the training
    /// data; weight 0 (data only) is always a candidate, so the choice is never worse than data-only on those folds.
    /// </summary>
    Blend,
}

/// <summary>What the label is, which decides the data evidence and the cross-validation metric.</summary>
public enum LabelKind
{
    /// <summary>Decided from the values: two distinct values = binary; numbers = regression unless few distinct integers; text = multiclass.</summary>
    Auto,
    Binary,
    Multiclass,
    Regression,
}

/// <summary>Which data evidence goes into the data score (mutual information is computed and reported in every case).</summary>
public enum DataEvidenceKind
{
    /// <summary>The L1 logistic-regression path (the default: the best ranking in the README's evaluation, and LLM-Lasso's baseline).</summary>
    L1,
    MutualInformation,
    /// <summary>Mean of the max-normalised mutual information and the L1 score.</summary>
    Both,
}

/// <summary>How a column enters the Features vector.</summary>
public enum FeatureKind
{
    /// <summary>A number (any numeric type or Boolean), missing values replaced by the training mean.</summary>
    Numeric,
    /// <summary>Text values one-hot encoded (most frequent levels), missing/unseen levels give all zeros.</summary>
    Categorical,
    /// <summary>Free text, featurized with ML.NET's FeaturizeText.</summary>
    Text,
}

/// <summary>One candidate column: its scores, why, and whether it was kept.</summary>
public sealed class FeatureScore
{
    public string Name { get; set; } = "";
    public FeatureKind Kind { get; set; }
    /// <summary>The language model's 0–1 importance, null when it gave none (or no LLM was used).</summary>
    public double? LlmScore { get; set; }
    public string? LlmReason { get; set; }
    /// <summary>Mutual information with the label as a fraction of the label's entropy (Miller–Madow corrected).</summary>
    public double MutualInformation { get; set; }
    /// <summary>0–1: how early the column enters an L1 logistic-regression path (1 = first).</summary>
    public double L1 { get; set; }
    /// <summary>0–1 data evidence used for ranking (see <see cref="DataEvidenceKind"/>).</summary>
    public double DataScore { get; set; }
    /// <summary>The score the column was ranked by.</summary>
    public double Score { get; set; }
    /// <summary>1 = best; 0 for excluded columns.</summary>
    public int Rank { get; set; }
    public bool Kept { get; set; }
    /// <summary>Why the column was excluded or what stood in for a missing LLM score.</summary>
    public string? Note { get; set; }
}

/// <summary>Cross-validated score of one trust weight (blend mode), in the report's <see cref="FeatureSelectionReport.CrossValidationMetric"/>.</summary>
public sealed class TrustWeightScore
{
    public double Weight { get; set; }
    /// <summary>Mean over the folds of the metric (AUROC, macro one-vs-rest AUROC or R²; higher is better).</summary>
    public double MeanScore { get; set; }
}

/// <summary>
/// What a fit decided and why: the mode that actually ran, the LLM trust weight, per-column scores and reasons,
/// and notes (fallbacks, excluded columns). Saved in the model zip with the transformer.
/// </summary>
public sealed class FeatureSelectionReport
{
    public string Task { get; set; } = "";
    public string LabelColumn { get; set; } = "";
    /// <summary>The kind the label was read as (never Auto).</summary>
    public LabelKind LabelKind { get; set; }
    /// <summary>The label in one line: its classes and their counts, or its mean and spread.</summary>
    public string Label { get; set; } = "";
    /// <summary>The metric of <see cref="CrossValidation"/>: AUROC, macro one-vs-rest AUROC or R²; null when there was none.</summary>
    public string? CrossValidationMetric { get; set; }
    public FeatureSelectionMode RequestedMode { get; set; }
    /// <summary>The mode that ran: <see cref="FeatureSelectionMode.Data"/> when no LLM was usable.</summary>
    public FeatureSelectionMode Mode { get; set; }
    /// <summary>Weight of the LLM score in the final score (1 in llm mode, 0 in data mode, cross-validated in blend).</summary>
    public double LlmWeight { get; set; }
    /// <summary>True when LLM or blend mode was asked for but data evidence had to stand in for all of it.</summary>
    public bool FellBackToData { get; set; }
    public string? LlmModel { get; set; }
    public int LlmRequests { get; set; }
    public int LlmCacheHits { get; set; }
    public string KeepRule { get; set; } = "";
    public DataEvidenceKind DataEvidence { get; set; }
    public List<TrustWeightScore> CrossValidation { get; set; } = [];
    public List<FeatureScore> Features { get; set; } = [];
    public List<string> Notes { get; set; } = [];

    /// <summary>Kept columns, best first.</summary>
    public IReadOnlyList<string> KeptColumns => Features.Where(f => f.Kept).OrderBy(f => f.Rank).Select(f => f.Name).ToList();

    private IEnumerable<FeatureScore> Ordered => Features.OrderBy(f => f.Rank == 0 ? int.MaxValue : f.Rank).ThenBy(f => f.Name, StringComparer.Ordinal);

    private static string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
    private static string F(double? v) => v is double d ? F(d) : "";

    /// <summary>One line per column, best first: name, kind, scores, kept, reason/note.</summary>
    public string ToCsv()
    {
        var sb = new StringBuilder("rank,column,kind,kept,score,llm_score,mutual_information,l1,data_score,llm_reason,note\n");
        foreach (var f in Ordered)
            sb.Append(string.Join(",", f.Rank.ToString(CultureInfo.InvariantCulture), Csv(f.Name), f.Kind.ToString().ToLowerInvariant(),
                f.Kept ? "yes" : "no", F(f.Score), F(f.LlmScore), F(f.MutualInformation), F(f.L1), F(f.DataScore),
                Csv(f.LlmReason ?? ""), Csv(f.Note ?? ""))).Append('\n');
        return sb.ToString();
    }

    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.Append("Mode: **").Append(Mode.ToString().ToLowerInvariant()).Append("**");
        if (RequestedMode != Mode) sb.Append(" (requested ").Append(RequestedMode.ToString().ToLowerInvariant()).Append(')');
        sb.Append(", LLM weight ").Append(LlmWeight.ToString("0.00", CultureInfo.InvariantCulture));
        if (LlmModel is not null) sb.Append(", model `").Append(LlmModel).Append('`');
        sb.Append(", keep ").Append(KeepRule).Append(", ").Append(Features.Count(f => f.Kept)).Append(" of ").Append(Features.Count).Append(" columns kept.\n\n");
        if (Label.Length > 0) sb.Append("Label: ").Append(Md(Label)).Append(".\n\n");
        if (CrossValidation.Count > 0)
            sb.Append("Cross-validated ").Append(CrossValidationMetric ?? "score").Append(" by LLM weight: ")
              .Append(string.Join(", ", CrossValidation.Select(c => $"{c.Weight.ToString("0.00", CultureInfo.InvariantCulture)} → {c.MeanScore.ToString("0.0000", CultureInfo.InvariantCulture)}")))
              .Append("\n\n");
        foreach (var n in Notes) sb.Append("- ").Append(Md(n)).Append('\n');
        if (Notes.Count > 0) sb.Append('\n');
        sb.Append("| rank | column | kind | kept | score | LLM | MI | L1 | data | LLM reason | note |\n");
        sb.Append("|---:|---|---|---|---:|---:|---:|---:|---:|---|---|\n");
        foreach (var f in Ordered)
            sb.Append("| ").Append(f.Rank == 0 ? "" : f.Rank.ToString(CultureInfo.InvariantCulture)).Append(" | ").Append(Md(f.Name))
              .Append(" | ").Append(f.Kind.ToString().ToLowerInvariant()).Append(" | ").Append(f.Kept ? "yes" : "no")
              .Append(" | ").Append(F(f.Score)).Append(" | ").Append(F(f.LlmScore)).Append(" | ").Append(F(f.MutualInformation))
              .Append(" | ").Append(F(f.L1)).Append(" | ").Append(F(f.DataScore)).Append(" | ").Append(Md(f.LlmReason ?? ""))
              .Append(" | ").Append(Md(f.Note ?? "")).Append(" |\n");
        return sb.ToString();
    }

    /// <summary>A fixed-width table for a console.</summary>
    public override string ToString()
    {
        var rows = Ordered.Select(f => new[]
        {
            f.Rank == 0 ? "-" : f.Rank.ToString(CultureInfo.InvariantCulture), f.Name, f.Kind.ToString().ToLowerInvariant(), f.Kept ? "yes" : "no",
            F(f.Score), F(f.LlmScore), F(f.MutualInformation), F(f.L1), F(f.DataScore), Trim(f.LlmReason ?? f.Note ?? "", 60),
        }).ToList();
        string[] head = ["rank", "column", "kind", "kept", "score", "llm", "mi", "l1", "data", "reason / note"];
        var widths = head.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        var sb = new StringBuilder();
        sb.Append($"mode {Mode.ToString().ToLowerInvariant()}{(RequestedMode != Mode ? $" (requested {RequestedMode.ToString().ToLowerInvariant()})" : "")}, " +
                  $"LLM weight {LlmWeight.ToString("0.00", CultureInfo.InvariantCulture)}, keep {KeepRule}\n");
        if (Label.Length > 0) sb.Append("label: ").Append(Label).Append('\n');
        foreach (var n in Notes) sb.Append("note: ").Append(n).Append('\n');
        void Line(string[] cells) => sb.Append(string.Join("  ", cells.Select((c, i) => i is 1 or 9 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd()).Append('\n');
        Line(head);
        foreach (var r in rows) Line(r);
        return sb.ToString();
    }

    private static string Trim(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";
    private static string Md(string s) => s.Replace("|", "\\|").Replace("\r", " ").Replace("\n", " ");

    private static string Csv(string s) =>
        s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
