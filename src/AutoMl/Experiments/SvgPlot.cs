using System.Globalization;
using System.Net;
using System.Text;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>
/// Small inline SVG charts for the report: an axis frame with round-number ticks (1, 2 or 5 × 10^k on linear axes,
/// powers of ten — or the values themselves when there are few — on log axes), scatter points and step or polylines.
/// </summary>
internal static class SvgPlot
{
    public const int W = 520, H = 300, L = 60, R = 15, T = 30, B = 45;

    public sealed record Axis(double Min, double Max, bool Log, IReadOnlyList<double> Ticks)
    {
        public double Map(double v) => Log ? Math.Log10(Math.Max(v, 1e-300)) : v;
        public double ToX(double v) => L + (Map(v) - Map(Min)) / (Map(Max) - Map(Min)) * (W - L - R);
        public double ToY(double v) => H - B - (Map(v) - Map(Min)) / (Map(Max) - Map(Min)) * (H - T - B);
    }

    /// <summary>An axis over <paramref name="values"/>, widened to round ticks; on a log axis with at most six
    /// distinct values (a batch size chosen from a list), those values are the ticks.</summary>
    public static Axis AxisFor(IEnumerable<double> values, bool log = false)
    {
        var v = values.Where(double.IsFinite).Where(x => !log || x > 0).ToList();
        if (v.Count == 0) v = [0, 1];
        double lo = v.Min(), hi = v.Max();
        if (log)
        {
            var distinct = v.Distinct().Order().ToList();
            if (distinct.Count <= 6)
            {
                double pad = distinct.Count == 1 ? 2 : Math.Pow(hi / lo, 0.08);
                return new Axis(lo / pad, hi * pad, true, distinct);
            }
            int ka = (int)Math.Floor(Math.Log10(lo)), kb = (int)Math.Ceiling(Math.Log10(hi));
            if (ka == kb) kb++;
            var ticks = Enumerable.Range(ka, kb - ka + 1).Select(k => double.Parse($"1e{k}", CultureInfo.InvariantCulture)).ToList();
            return new Axis(ticks[0], ticks[^1], true, ticks);
        }
        if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
        double step = NiceStep((hi - lo) / 4);
        double start = Math.Floor(lo / step) * step, end = Math.Ceiling(hi / step) * step;
        var t2 = new List<double>();
        for (double t = start; t <= end + step * 1e-6; t += step) t2.Add(Math.Round(t / step) * step);
        return new Axis(start, end, false, t2);
    }

    /// <summary>The round step (1, 2 or 5 × 10^k) nearest above <paramref name="raw"/>.</summary>
    public static double NiceStep(double raw)
    {
        double p = Math.Pow(10, Math.Floor(Math.Log10(raw))), f = raw / p;
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
    }

    public static string Frame(string title, string xLabel, string yLabel, Axis x, Axis y, StringBuilder body)
    {
        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"{E(title)}\">");
        sb.Append($"<rect width=\"{W}\" height=\"{H}\" fill=\"white\" stroke=\"#ddd\"/><text x=\"{W / 2}\" y=\"18\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">{E(title)}</text>");
        sb.Append($"<line x1=\"{L}\" y1=\"{H - B}\" x2=\"{W - R}\" y2=\"{H - B}\" stroke=\"#444\"/><line x1=\"{L}\" y1=\"{T}\" x2=\"{L}\" y2=\"{H - B}\" stroke=\"#444\"/>");
        foreach (double t in x.Ticks)
            sb.Append($"<text x=\"{F(x.ToX(t))}\" y=\"{H - B + 15}\" text-anchor=\"middle\" font-size=\"10\">{Tick(t)}</text>");
        foreach (double t in y.Ticks)
        {
            double py = y.ToY(t);
            sb.Append($"<text x=\"{L - 5}\" y=\"{F(py + 3)}\" text-anchor=\"end\" font-size=\"10\">{Tick(t)}</text>");
            sb.Append($"<line x1=\"{L}\" y1=\"{F(py)}\" x2=\"{W - R}\" y2=\"{F(py)}\" stroke=\"#eee\"/>");
        }
        sb.Append($"<text x=\"{(L + W - R) / 2}\" y=\"{H - 8}\" text-anchor=\"middle\" font-size=\"11\">{E(xLabel)}</text>");
        sb.Append($"<text x=\"14\" y=\"{(T + H - B) / 2}\" text-anchor=\"middle\" font-size=\"11\" transform=\"rotate(-90 14 {(T + H - B) / 2})\">{E(yLabel)}</text>");
        sb.Append(body).Append("</svg>");
        return sb.ToString();
    }

    public static void Point(StringBuilder body, Axis x, Axis y, double px, double py, string color, string tip, double radius = 4, bool hollow = false) =>
        body.Append($"<circle cx=\"{F(x.ToX(px))}\" cy=\"{F(y.ToY(py))}\" r=\"{F(radius)}\" fill=\"{(hollow ? "white" : color)}\" stroke=\"{color}\" fill-opacity=\"0.85\"><title>{E(tip)}</title></circle>");

    public static void Polyline(StringBuilder body, Axis x, Axis y, IEnumerable<(double X, double Y)> points, string color, string tip, bool step = false, string? dash = null)
    {
        var list = points.ToList();
        var path = new List<string>();
        for (int i = 0; i < list.Count; i++)
        {
            if (step && i > 0) path.Add($"{F(x.ToX(list[i].X))},{F(y.ToY(list[i - 1].Y))}");
            path.Add($"{F(x.ToX(list[i].X))},{F(y.ToY(list[i].Y))}");
        }
        body.Append($"<polyline points=\"{string.Join(" ", path)}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{(dash is null ? "" : $" stroke-dasharray=\"{dash}\"")}><title>{E(tip)}</title></polyline>");
    }

    public static string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);

    /// <summary>A tick label: round numbers print without noise digits (0.8, 1e-4, 64, 120).</summary>
    public static string Tick(double v) =>
        v == 0 ? "0" : Math.Abs(v) >= 1e5 || Math.Abs(v) < 1e-3 ? v.ToString("0.#E0", CultureInfo.InvariantCulture) : v.ToString("0.####", CultureInfo.InvariantCulture);

    public static string E(string s) => WebUtility.HtmlEncode(s);
}
