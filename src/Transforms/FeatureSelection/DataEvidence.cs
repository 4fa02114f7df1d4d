
namespace MlNetLlm.Transforms.FeatureSelection;

/// <summary>
/// A standardised design matrix for the evidence models: numbers mean-imputed, text levels one-hot (most frequent
/// levels), free text as word indicators; every slot scaled to mean 0, variance 1 on the rows it was fitted on so
/// one L1 penalty treats all slots alike. Fitted on training rows only and applied to held-out rows unchanged.
/// </summary>
internal sealed class DesignEncoder
{
    private readonly List<Func<FeatureTable, int, float>> _slots = [];
    private readonly List<(double Mean, double Scale)> _standardize = [];
    public List<int> SlotColumn { get; } = [];
    public int SlotCount => _slots.Count;

    public static DesignEncoder Fit(FeatureTable t, int[] rows, IEnumerable<int> columns, int maxCategories, int maxTokens)
    {
        var e = new DesignEncoder();
        foreach (int ci in columns)
        {
            var c = t.Columns[ci];
            switch (c.Kind)
            {
                case FeatureKind.Numeric:
                {
                    var x = c.Numbers!;
                    double sum = 0; int n = 0;
                    foreach (int r in rows) if (!float.IsNaN(x[r])) { sum += x[r]; n++; }
                    float mean = n == 0 ? 0f : (float)(sum / n);
                    e.Add(ci, (tt, r) => { float v = tt.Columns[ci].Numbers![r]; return float.IsNaN(v) ? mean : v; }, t, rows);
                    break;
                }
                case FeatureKind.Categorical:
                    foreach (var level in TopLevels(c.Texts!, rows, maxCategories))
                        e.Add(ci, (tt, r) => tt.Columns[ci].Texts![r] == level ? 1f : 0f, t, rows);
                    break;
                case FeatureKind.Text:
                    foreach (var token in TopTokens(c, rows, maxTokens))
                        e.Add(ci, (tt, r) => tt.Columns[ci].TokensAt(r).Contains(token) ? 1f : 0f, t, rows);
                    break;
            }
        }
        return e;
    }

    private void Add(int column, Func<FeatureTable, int, float> raw, FeatureTable t, int[] rows)
    {
        double s = 0, s2 = 0;
        foreach (int r in rows) { double v = raw(t, r); s += v; s2 += v * v; }
        double mean = s / Math.Max(1, rows.Length), var = Math.Max(0, s2 / Math.Max(1, rows.Length) - mean * mean);
        _slots.Add(raw);
        _standardize.Add((mean, var > 1e-12 ? 1 / Math.Sqrt(var) : 0)); // constant slot → 0: it cannot enter the model
        SlotColumn.Add(column);
    }

    public float[][] Encode(FeatureTable t, int[] rows)
    {
        var x = new float[rows.Length][];
        for (int i = 0; i < rows.Length; i++)
        {
            var v = new float[_slots.Count];
            for (int s = 0; s < _slots.Count; s++)
                v[s] = (float)((_slots[s](t, rows[i]) - _standardize[s].Mean) * _standardize[s].Scale);
            x[i] = v;
        }
        return x;
    }

    /// <summary>The most frequent non-empty levels, ties by ordinal order so the choice is deterministic.</summary>
    public static List<string> TopLevels(string[] values, IEnumerable<int> rows, int max) =>
        rows.Select(r => values[r]).Where(v => v.Length > 0).GroupBy(v => v, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Take(max).Select(g => g.Key).ToList();

    public static List<string> TopTokens(FeatureColumnData c, IEnumerable<int> rows, int max) =>
        rows.SelectMany(r => c.TokensAt(r)).GroupBy(v => v, StringComparer.Ordinal)
            .Where(g => g.Count() >= 3).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Take(max).Select(g => g.Key).ToList();

    public static HashSet<string> Tokens(string text)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool word = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (word && start < 0) start = i;
            else if (!word && start >= 0) { set.Add(text[start..i].ToLowerInvariant()); start = -1; }
        }
        return set;
    }
}

/// <summary>Data evidence for each candidate column, computed from training rows only.</summary>
internal sealed class DataEvidence
{
    public required double[] MutualInformation { get; init; }
    public required double[] L1 { get; init; }
    /// <summary>0–1 per column, the blend of the two above that <see cref="DataEvidenceKind"/> asks for.</summary>
    public required double[] Score { get; init; }

    public const int MaxTextTokens = 200;

    public static DataEvidence Compute(FeatureTable t, int[] rows, IReadOnlyList<int> eligible, DataEvidenceKind kind, int bins, int maxCategories, int seed)
    {
        int n = t.Columns.Count;
        var mi = new double[n];
        var l1 = new double[n];
        // Mutual information is cheap: always computed, so the report shows it whichever evidence ranks.
        var y = t.Target.Codes(rows, bins);
        foreach (int c in eligible) mi[c] = MutualInformationOf(t, rows, c, bins, maxCategories, y);
        if (kind != DataEvidenceKind.MutualInformation)
        {
            var path = LinearEvidence.L1Path(t, rows, eligible, maxCategories, seed);
            foreach (int c in eligible) l1[c] = path[c];
        }
        double miMax = eligible.Count == 0 ? 0 : eligible.Max(c => mi[c]);
        var score = new double[n];
        foreach (int c in eligible)
        {
            double m = miMax > 0 ? mi[c] / miMax : 0;
            score[c] = kind switch
            {
                DataEvidenceKind.MutualInformation => m,
                DataEvidenceKind.L1 => l1[c],
                _ => (m + l1[c]) / 2,
            };
        }
        return new DataEvidence { MutualInformation = mi, L1 = l1, Score = score };
    }

    /// <summary>
    /// I(X;Y)/H(Y) with numbers in equal-frequency bins (missing = its own bin), text levels as they are (rare levels
    /// pooled), and free text as its most informative word; Miller–Madow corrected so many-level columns do not win
    /// by chance.
    /// </summary>
    public static double MutualInformationOf(FeatureTable t, int[] rows, int column, int bins, int maxCategories) =>
        MutualInformationOf(t, rows, column, bins, maxCategories, t.Target.Codes(rows, bins));

    /// <param name="y">The label's code on each of <paramref name="rows"/> (a class, or a bin of a continuous label).</param>
    private static double MutualInformationOf(FeatureTable t, int[] rows, int column, int bins, int maxCategories, int[] y)
    {
        var c = t.Columns[column];
        if (c.Kind == FeatureKind.Numeric)
        {
            var x = c.Numbers!;
            var present = rows.Where(r => !float.IsNaN(x[r])).Select(r => x[r]).Order().ToArray();
            if (present.Length == 0) return 0;
            // Upper edges at the quantiles; duplicates collapse so a column with few distinct values gets few bins.
            var edges = Enumerable.Range(1, bins - 1).Select(i => present[(int)((long)i * present.Length / bins)]).Distinct().ToArray();
            return Mi(rows.Select(r => float.IsNaN(x[r]) ? -1 : UpperBound(edges, x[r])), y);
        }
        if (c.Kind == FeatureKind.Categorical)
        {
            var levels = DesignEncoder.TopLevels(c.Texts!, rows, maxCategories).Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i, StringComparer.Ordinal);
            return Mi(rows.Select(r => c.Texts![r].Length == 0 ? -1 : levels.TryGetValue(c.Texts![r], out int i) ? i : -2), y);
        }
        double best = 0;
        var tokenSets = rows.Select(c.TokensAt).ToArray();
        foreach (var token in DesignEncoder.TopTokens(c, rows, MaxTextTokens))
            best = Math.Max(best, Mi(tokenSets.Select(s => s.Contains(token) ? 1 : 0), y));
        return best;
    }

    private static int UpperBound(float[] edges, float v)
    {
        int i = Array.BinarySearch(edges, v);
        return i >= 0 ? i : ~i;
    }

    private static double Mi(IEnumerable<int> xCodes, int[] y)
    {
        var joint = new Dictionary<(int, int), int>();
        var px = new Dictionary<int, int>();
        var py = new Dictionary<int, int>();
        int n = 0;
        foreach (int code in xCodes)
        {
            int yy = y[n++];
            joint[(code, yy)] = joint.GetValueOrDefault((code, yy)) + 1;
            px[code] = px.GetValueOrDefault(code) + 1;
            py[yy] = py.GetValueOrDefault(yy) + 1;
        }
        if (n == 0 || py.Count < 2) return 0;
        double hy = -py.Values.Sum(v => Plog(v / (double)n));
        double mi = 0;
        foreach (var ((code, yy), count) in joint)
        {
            double pxy = count / (double)n, pxv = px[code] / (double)n, pyv = py[yy] / (double)n;
            mi += pxy * Math.Log(pxy / (pxv * pyv));
        }
        mi -= (px.Count - 1) * (py.Count - 1) / (2.0 * n); // Miller–Madow: the bias of the plug-in estimate
        return Math.Max(0, mi) / hy;
    }

    private static double Plog(double p) => p <= 0 ? 0 : p * Math.Log(p);
}
