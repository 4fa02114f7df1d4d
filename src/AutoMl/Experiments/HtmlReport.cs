using System.Globalization;
using System.Text;
using static MlNetLlm.AutoMl.Experiments.SvgPlot;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>One trial as the report draws it.</summary>
public sealed record ReportTrial(
    int Id, string Candidate, IReadOnlyDictionary<string, string> Parameters, string Status, double? Metric,
    double Seconds, double StartSeconds, IReadOnlyList<(int Epoch, double Metric)> Epochs, string? Error, string? Precision = null)
{
    /// <summary>The share of the training rows the trial trained on (the fine-tuning ladder's rung; 1 for the others).</summary>
    public double RowsShare { get; init; } = 1;
}

/// <summary>Everything the HTML report shows.</summary>
public sealed record ReportData(
    string Title, string MetricName, IReadOnlyList<ReportTrial> Trials, int? BestTrialId, string? BaselineCandidate,
    string[]? ClassNames, double[][]? ConfusionMatrix, double TotalSeconds, IReadOnlyDictionary<string, string>? TestMetrics,
    string? RefitNote = null)
{
    /// <summary>Why the kept model was kept (the leader, or a cheaper model it was not clearly ahead of).</summary>
    public string? PickReason { get; init; }
}

/// <summary>
/// A self-contained HTML report (inline SVG, no scripts or network): the metric over time with the best so far, learning
/// rate and batch size against the metric, learning curves of the best trials, the kept model's confusion matrix, and a
/// plain-language summary. Each candidate has one colour in every chart; a trial on a share of the rows is drawn hollow.
/// </summary>
public static class HtmlReport
{
    private static readonly string[] Palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    public static string Render(ReportData d)
    {
        var candidates = d.Trials.Select(t => t.Candidate).Distinct().ToList();
        string Color(string c) => Palette[candidates.IndexOf(c) % Palette.Length];
        var done = d.Trials.Where(t => t.Metric is { } m && double.IsFinite(m)).ToList();
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(d.Title)).Append("</title><style>")
          .Append("body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}h1{font-size:22px}h2{font-size:17px;margin-top:28px}")
          .Append("table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f3f3f3}")
          .Append(".grid{display:flex;flex-wrap:wrap;gap:16px}.legend span{display:inline-block;margin-right:12px;font-size:13px}.summary{background:#f7f9fc;border-left:4px solid #1f77b4;padding:10px 14px}")
          .Append("</style></head><body>");
        sb.Append("<h1>").Append(E(d.Title)).Append("</h1>");
        sb.Append("<div class=\"summary\">").Append(Summary(d)).Append("</div>");
        sb.Append("<p class=\"legend\">");
        foreach (var c in candidates) sb.Append($"<span><b style=\"color:{Color(c)}\">&#9679;</b> {E(c)}</span>");
        if (done.Any(t => t.RowsShare < 1)) sb.Append("<span>&#9675; hollow: trained on a share of the rows</span>");
        sb.Append("<span>&#8212; black: best so far</span></p><div class=\"grid\">");
        sb.Append(OverTime(d, done, Color));
        sb.Append(Against(d, done, Color, "LearningRate", "learning rate"));
        sb.Append(Against(d, done, Color, "BatchSize", "batch size"));
        sb.Append(Curves(d, done, Color));
        sb.Append("</div>");
        if (d.ConfusionMatrix is { } cm && d.ClassNames is { } names)
            sb.Append("<h2>Confusion matrix of the kept model (test data; rows: truth, columns: prediction)</h2>").Append(Confusion(names, cm));
        if (d.TestMetrics is { Count: > 0 } tm)
        {
            sb.Append("<h2>Kept model on the test data</h2><table><tr>");
            foreach (var k in tm.Keys) sb.Append("<th>").Append(E(k)).Append("</th>");
            sb.Append("</tr><tr>");
            foreach (var v in tm.Values) sb.Append("<td>").Append(E(v)).Append("</td>");
            sb.Append("</tr></table>");
        }
        sb.Append("<h2>All trials</h2><table><tr><th>id</th><th>candidate</th><th>status</th><th>").Append(E(d.MetricName))
          .Append("</th><th>seconds</th><th>epochs</th><th>rows</th><th>precision</th><th style=\"text-align:left\">parameters / error</th></tr>");
        foreach (var t in d.Trials)
            sb.Append($"<tr><td>{t.Id}</td><td style=\"text-align:left;color:{Color(t.Candidate)}\">{E(t.Candidate)}</td><td>{E(t.Status)}</td><td>{(t.Metric is { } m ? m.ToString("F4", CultureInfo.InvariantCulture) : "")}</td>")
              .Append($"<td>{t.Seconds.ToString("F1", CultureInfo.InvariantCulture)}</td><td>{t.Epochs.Count}</td><td>{t.RowsShare.ToString("P0", CultureInfo.InvariantCulture)}</td><td>{E(t.Precision ?? "")}</td><td style=\"text-align:left\">")
              .Append(E(t.Error ?? string.Join(", ", t.Parameters.Where(p => p.Key != "DataFraction").Select(p => $"{p.Key}={p.Value}")))).Append("</td></tr>");
        sb.Append("</table></body></html>");
        return sb.ToString();
    }

    /// <summary>Each finished trial at its end time, and the best so far as a step line.</summary>
    private static string OverTime(ReportData d, List<ReportTrial> done, Func<string, string> color)
    {
        if (done.Count == 0) return "";
        var ordered = done.OrderBy(t => t.StartSeconds + t.Seconds).ToList();
        var x = AxisFor(ordered.Select(t => t.StartSeconds + t.Seconds).Prepend(0));
        var y = AxisFor(ordered.Select(t => t.Metric!.Value));
        var body = new StringBuilder();
        var best = new List<(double X, double Y)>();
        foreach (var t in ordered)
        {
            double end = t.StartSeconds + t.Seconds, m = t.Metric!.Value;
            if (best.Count == 0 || m > best[^1].Y) best.Add((end, m));
        }
        if (best.Count > 0) best.Add((x.Max, best[^1].Y));
        Polyline(body, x, y, best, "#222", "best so far", step: true, dash: "4 3");
        foreach (var t in ordered)
            Point(body, x, y, t.StartSeconds + t.Seconds, t.Metric!.Value, color(t.Candidate),
                $"trial {t.Id} {t.Candidate}{(t.RowsShare < 1 ? $" on {t.RowsShare:P0} of the rows" : "")}", hollow: t.RowsShare < 1);
        return Frame($"{d.MetricName} over time (each point a trial, at its end)", "seconds since start", d.MetricName, x, y, body);
    }

    /// <summary>A parameter (log axis) against the metric, for the trials that have it.</summary>
    private static string Against(ReportData d, List<ReportTrial> done, Func<string, string> color, string parameter, string label)
    {
        var with = done.Where(t => t.Parameters.ContainsKey(parameter)).ToList();
        if (with.Count == 0) return "";
        double Value(ReportTrial t) => double.Parse(t.Parameters[parameter], CultureInfo.InvariantCulture);
        var x = AxisFor(with.Select(Value), log: true);
        var y = AxisFor(with.Select(t => t.Metric!.Value));
        var body = new StringBuilder();
        foreach (var t in with) Point(body, x, y, Value(t), t.Metric!.Value, color(t.Candidate), $"trial {t.Id} {t.Candidate}", hollow: t.RowsShare < 1);
        return Frame($"{label} vs {d.MetricName}", $"{label} (log)", d.MetricName, x, y, body);
    }

    /// <summary>Validation metric per epoch of the best five trials, in their candidate's colour.</summary>
    private static string Curves(ReportData d, List<ReportTrial> done, Func<string, string> color)
    {
        var curves = done.Where(t => t.Epochs.Count > 0).OrderByDescending(t => t.Metric).Take(5).ToList();
        if (curves.Count == 0) return "";
        var x = AxisFor(curves.SelectMany(t => t.Epochs.Select(e => (double)e.Epoch)).Append(1));
        var y = AxisFor(curves.SelectMany(t => t.Epochs.Select(e => e.Metric)));
        var body = new StringBuilder();
        int row = 0;
        foreach (var t in curves)
        {
            Polyline(body, x, y, t.Epochs.Select(e => ((double)e.Epoch, e.Metric)), color(t.Candidate), $"trial {t.Id} {t.Candidate}");
            foreach (var e in t.Epochs) Point(body, x, y, e.Epoch, e.Metric, color(t.Candidate), $"trial {t.Id} epoch {e.Epoch}", radius: 3);
            body.Append($"<text x=\"{W - R - 5}\" y=\"{T + 12 + 12 * row++}\" text-anchor=\"end\" font-size=\"10\" fill=\"{color(t.Candidate)}\">trial {t.Id} {E(t.Candidate)}</text>");
        }
        return Frame($"learning curves of the best {curves.Count} trials (validation {d.MetricName} per epoch)", "epoch", d.MetricName, x, y, body);
    }

    private static string Summary(ReportData d)
    {
        var done = d.Trials.Where(t => t.Metric is { } m && double.IsFinite(m)).ToList();
        if (done.Count == 0)
            return $"No trial finished ({d.Trials.Count} tried, {d.Trials.Count(t => t.Status == "failed")} failed).";
        var best = d.BestTrialId is { } id ? d.Trials.First(t => t.Id == id) : done.MaxBy(t => t.Metric)!;
        var sb = new StringBuilder();
        sb.Append($"<b>{E(best.Candidate)}</b> was kept, with validation {E(d.MetricName)} {best.Metric:F4} (trial {best.Id}, {best.Seconds:F1} s{(best.Precision is { } p ? $", {E(p)}" : "")}). ");
        if (d.PickReason is { } why) sb.Append(E(why)).Append(' ');
        if (d.Trials.Select(t => t.Precision).OfType<string>().Distinct().ToList() is { Count: > 0 } used)
            sb.Append($"Neural trials computed in {string.Join(" and ", used.Select(E))} (matrix products; weights, layer norms, heads and losses fp32). ");
        if (d.BaselineCandidate is { } bc && done.Where(t => t.Candidate == bc).MaxBy(t => t.Metric) is { } baseline && baseline.Id != best.Id)
            sb.Append($"The best classical baseline ({E(bc)}) reached {baseline.Metric:F4}. ");
        else if (d.BaselineCandidate is { } bc2 && best.Candidate == bc2)
            sb.Append("No neural candidate was clearly ahead of the classical baseline within the budget. ");
        sb.Append($"{d.Trials.Count} trials ({d.Trials.Count(t => t.Status == "pruned")} pruned, {d.Trials.Count(t => t.Status == "stopped (budget)")} stopped (budget), ")
          .Append($"{d.Trials.Count(t => t.Status == "failed")} failed) took {d.TotalSeconds:F0} s in all; ");
        sb.Append($"compute per candidate: {string.Join(", ", d.Trials.GroupBy(t => t.Candidate).Select(g => $"{E(g.Key)} {g.Sum(t => t.Seconds):F0} s"))}.");
        if (d.RefitNote is { } refit) sb.Append(' ').Append(E(refit));
        return sb.ToString();
    }

    private static string Confusion(string[] names, double[][] cm)
    {
        double max = Math.Max(1, cm.SelectMany(r => r).Max());
        var sb = new StringBuilder("<table><tr><th></th>");
        foreach (var n in names) sb.Append("<th>").Append(E(n)).Append("</th>");
        sb.Append("</tr>");
        for (int r = 0; r < cm.Length; r++)
        {
            sb.Append("<tr><th>").Append(E(names[r])).Append("</th>");
            for (int c = 0; c < cm[r].Length; c++)
            {
                int shade = 255 - (int)(cm[r][c] / max * 160);
                sb.Append($"<td style=\"background:rgb({shade},{shade},255)\">{cm[r][c]:0}</td>");
            }
            sb.Append("</tr>");
        }
        return sb.Append("</table>").ToString();
    }
}
