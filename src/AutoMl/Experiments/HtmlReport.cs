using System.Globalization;
using System.Net;
using System.Text;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>One trial as the report draws it.</summary>
public sealed record ReportTrial(
    int Id, string Candidate, IReadOnlyDictionary<string, string> Parameters, string Status, double? Metric,
    double Seconds, double StartSeconds, IReadOnlyList<(int Epoch, double Metric)> Epochs, string? Error, string? Precision = null);

/// <summary>Everything the HTML report shows.</summary>
public sealed record ReportData(
    string Title, string MetricName, IReadOnlyList<ReportTrial> Trials, int? BestTrialId, string? BaselineCandidate,
    string[]? ClassNames, double[][]? ConfusionMatrix, double TotalSeconds, IReadOnlyDictionary<string, string>? TestMetrics,
    string? RefitNote = null);

/// <summary>
/// A self-contained HTML report (inline SVG, no scripts or network): metric over time per trial, learning rate vs metric,
/// batch size vs metric, learning curves of the best trials, the best model's confusion matrix, and a plain-language summary.
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
        sb.Append("</p><div class=\"grid\">");
        sb.Append(Scatter($"{d.MetricName} over time (each point a trial, at its end)", "seconds since start", d.MetricName,
            done.Select(t => (t.StartSeconds + t.Seconds, t.Metric!.Value, Color(t.Candidate), $"trial {t.Id} {t.Candidate}")).ToList(), logX: false));
        var withLr = done.Where(t => t.Parameters.ContainsKey("LearningRate")).ToList();
        if (withLr.Count > 0)
            sb.Append(Scatter($"learning rate vs {d.MetricName}", "learning rate (log)", d.MetricName,
                withLr.Select(t => (double.Parse(t.Parameters["LearningRate"], CultureInfo.InvariantCulture), t.Metric!.Value, Color(t.Candidate), $"trial {t.Id}")).ToList(), logX: true));
        var withBatch = done.Where(t => t.Parameters.ContainsKey("BatchSize")).ToList();
        if (withBatch.Count > 0)
            sb.Append(Scatter($"batch size vs {d.MetricName}", "batch size (log)", d.MetricName,
                withBatch.Select(t => (double.Parse(t.Parameters["BatchSize"], CultureInfo.InvariantCulture), t.Metric!.Value, Color(t.Candidate), $"trial {t.Id}")).ToList(), logX: true));
        var curves = done.Where(t => t.Epochs.Count > 0).OrderByDescending(t => t.Metric).Take(5).ToList();
        if (curves.Count > 0)
            sb.Append(Lines($"learning curves of the best {curves.Count} trials (validation {d.MetricName} per epoch)", "epoch", d.MetricName,
                curves.Select((t, i) => ($"trial {t.Id} {t.Candidate}", Palette[i % Palette.Length], t.Epochs.Select(e => ((double)e.Epoch, e.Metric)).ToList())).ToList()));
        sb.Append("</div>");
        if (d.ConfusionMatrix is { } cm && d.ClassNames is { } names)
            sb.Append("<h2>Confusion matrix of the best model (test data; rows: truth, columns: prediction)</h2>").Append(Confusion(names, cm));
        if (d.TestMetrics is { Count: > 0 } tm)
        {
            sb.Append("<h2>Best model on the test data</h2><table><tr>");
            foreach (var k in tm.Keys) sb.Append("<th>").Append(E(k)).Append("</th>");
            sb.Append("</tr><tr>");
            foreach (var v in tm.Values) sb.Append("<td>").Append(E(v)).Append("</td>");
            sb.Append("</tr></table>");
        }
        sb.Append("<h2>All trials</h2><table><tr><th>id</th><th>candidate</th><th>status</th><th>").Append(E(d.MetricName)).Append("</th><th>seconds</th><th>epochs</th><th>precision</th><th style=\"text-align:left\">parameters / error</th></tr>");
        foreach (var t in d.Trials)
            sb.Append($"<tr><td>{t.Id}</td><td style=\"text-align:left\">{E(t.Candidate)}</td><td>{E(t.Status)}</td><td>{(t.Metric is { } m ? m.ToString("F4", CultureInfo.InvariantCulture) : "")}</td>")
              .Append($"<td>{t.Seconds.ToString("F1", CultureInfo.InvariantCulture)}</td><td>{t.Epochs.Count}</td><td>{E(t.Precision ?? "")}</td><td style=\"text-align:left\">")
              .Append(E(t.Error ?? string.Join(", ", t.Parameters.Select(p => $"{p.Key}={p.Value}")))).Append("</td></tr>");
        sb.Append("</table></body></html>");
        return sb.ToString();
    }

    private static string Summary(ReportData d)
    {
        var done = d.Trials.Where(t => t.Metric is { } m && double.IsFinite(m)).ToList();
        if (done.Count == 0)
            return $"No trial finished ({d.Trials.Count} tried, {d.Trials.Count(t => t.Status == "failed")} failed).";
        var best = d.BestTrialId is { } id ? d.Trials.First(t => t.Id == id) : done.MaxBy(t => t.Metric)!;
        var sb = new StringBuilder();
        sb.Append($"<b>{E(best.Candidate)}</b> won with validation {E(d.MetricName)} {best.Metric:F4} (trial {best.Id}, {best.Seconds:F1} s{(best.Precision is { } p ? $", {E(p)}" : "")}). ");
        if (d.Trials.Select(t => t.Precision).OfType<string>().Distinct().ToList() is { Count: > 0 } used)
            sb.Append($"Neural trials computed in {string.Join(" and ", used.Select(E))} (matrix products; weights, layer norms, heads and losses fp32). ");
        if (d.BaselineCandidate is { } bc && done.Where(t => t.Candidate == bc).MaxBy(t => t.Metric) is { } baseline && baseline.Id != best.Id)
        {
            double gain = best.Metric!.Value - baseline.Metric!.Value;
            sb.Append($"The best classical baseline ({E(bc)}) reached {baseline.Metric:F4}, so the winner is {(gain >= 0 ? "ahead" : "behind")} by {Math.Abs(gain):F4}. ");
        }
        else if (d.BaselineCandidate is { } bc2 && best.Candidate == bc2)
            sb.Append("The classical baseline was not beaten by any neural candidate within the budget. ");
        sb.Append($"{d.Trials.Count} trials ({d.Trials.Count(t => t.Status == "pruned")} pruned, {d.Trials.Count(t => t.Status == "failed")} failed) took {d.TotalSeconds:F0} s in all; ");
        sb.Append($"compute per candidate: {string.Join(", ", d.Trials.GroupBy(t => t.Candidate).Select(g => $"{E(g.Key)} {g.Sum(t => t.Seconds):F0} s"))}.");
        if (d.RefitNote is { } refit) sb.Append(' ').Append(E(refit));
        return sb.ToString();
    }

    private const int W = 520, H = 300, L = 60, R = 15, T = 30, B = 45;

    private static string Frame(string title, string xLabel, string yLabel, double x0, double x1, double y0, double y1, bool logX, StringBuilder body)
    {
        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"{E(title)}\">");
        sb.Append($"<rect width=\"{W}\" height=\"{H}\" fill=\"white\" stroke=\"#ddd\"/><text x=\"{W / 2}\" y=\"18\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">{E(title)}</text>");
        sb.Append($"<line x1=\"{L}\" y1=\"{H - B}\" x2=\"{W - R}\" y2=\"{H - B}\" stroke=\"#444\"/><line x1=\"{L}\" y1=\"{T}\" x2=\"{L}\" y2=\"{H - B}\" stroke=\"#444\"/>");
        for (int i = 0; i <= 4; i++)
        {
            double fx = i / 4.0, fy = i / 4.0;
            double xv = logX ? Math.Pow(10, x0 + fx * (x1 - x0)) : x0 + fx * (x1 - x0);
            double yv = y0 + fy * (y1 - y0);
            double px = L + fx * (W - L - R), py = H - B - fy * (H - T - B);
            sb.Append($"<text x=\"{F(px)}\" y=\"{H - B + 15}\" text-anchor=\"middle\" font-size=\"10\">{Tick(xv)}</text>");
            sb.Append($"<text x=\"{L - 5}\" y=\"{F(py + 3)}\" text-anchor=\"end\" font-size=\"10\">{Tick(yv)}</text>");
            sb.Append($"<line x1=\"{L}\" y1=\"{F(py)}\" x2=\"{W - R}\" y2=\"{F(py)}\" stroke=\"#eee\"/>");
        }
        sb.Append($"<text x=\"{(L + W - R) / 2}\" y=\"{H - 8}\" text-anchor=\"middle\" font-size=\"11\">{E(xLabel)}</text>");
        sb.Append($"<text x=\"14\" y=\"{(T + H - B) / 2}\" text-anchor=\"middle\" font-size=\"11\" transform=\"rotate(-90 14 {(T + H - B) / 2})\">{E(yLabel)}</text>");
        sb.Append(body).Append("</svg>");
        return sb.ToString();
    }

    private static (double, double) Range(IEnumerable<double> v)
    {
        var list = v.ToList();
        double lo = list.Min(), hi = list.Max();
        if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
        double pad = (hi - lo) * 0.05;
        return (lo - pad, hi + pad);
    }

    private static string Scatter(string title, string xLabel, string yLabel, List<(double X, double Y, string Color, string Tip)> points, bool logX)
    {
        if (points.Count == 0) return "";
        Func<double, double> tx = logX ? x => Math.Log10(Math.Max(x, 1e-300)) : x => x;
        var (x0, x1) = Range(points.Select(p => tx(p.X)));
        var (y0, y1) = Range(points.Select(p => p.Y));
        var body = new StringBuilder();
        foreach (var p in points)
            body.Append($"<circle cx=\"{F(L + (tx(p.X) - x0) / (x1 - x0) * (W - L - R))}\" cy=\"{F(H - B - (p.Y - y0) / (y1 - y0) * (H - T - B))}\" r=\"4\" fill=\"{p.Color}\" fill-opacity=\"0.8\"><title>{E(p.Tip)}</title></circle>");
        return Frame(title, xLabel, yLabel, x0, x1, y0, y1, logX, body);
    }

    private static string Lines(string title, string xLabel, string yLabel, List<(string Name, string Color, List<(double X, double Y)> Points)> series)
    {
        var all = series.SelectMany(s => s.Points).ToList();
        var (x0, x1) = Range(all.Select(p => p.X));
        var (y0, y1) = Range(all.Select(p => p.Y));
        var body = new StringBuilder();
        foreach (var s in series)
        {
            var pts = string.Join(" ", s.Points.Select(p => $"{F(L + (p.X - x0) / (x1 - x0) * (W - L - R))},{F(H - B - (p.Y - y0) / (y1 - y0) * (H - T - B))}"));
            body.Append($"<polyline points=\"{pts}\" fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"2\"><title>{E(s.Name)}</title></polyline>");
            // Markers too, so one-epoch trials still show.
            foreach (var p in s.Points)
                body.Append($"<circle cx=\"{F(L + (p.X - x0) / (x1 - x0) * (W - L - R))}\" cy=\"{F(H - B - (p.Y - y0) / (y1 - y0) * (H - T - B))}\" r=\"3\" fill=\"{s.Color}\"/>");
        }
        int i = 0;
        foreach (var s in series)
            body.Append($"<text x=\"{W - R - 5}\" y=\"{T + 12 + 12 * i++}\" text-anchor=\"end\" font-size=\"10\" fill=\"{s.Color}\">{E(s.Name)}</text>");
        return Frame(title, xLabel, yLabel, x0, x1, y0, y1, false, body);
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

    private static string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);
    private static string Tick(double v) => Math.Abs(v) >= 1000 || (Math.Abs(v) < 0.01 && v != 0) ? v.ToString("0.##E0", CultureInfo.InvariantCulture) : v.ToString("0.###", CultureInfo.InvariantCulture);
    private static string E(string s) => WebUtility.HtmlEncode(s);
}
