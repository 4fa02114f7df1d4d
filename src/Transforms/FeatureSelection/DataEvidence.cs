using Microsoft.ML;
using Microsoft.ML.Trainers;
using MlNetLlm.MlNet.Data;

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
        foreach (int c in eligible) mi[c] = MutualInformationOf(t, rows, c, bins, maxCategories);
        if (kind != DataEvidenceKind.MutualInformation)
        {
            var path = L1Path(t, rows, eligible, maxCategories, seed);
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
    public static double MutualInformationOf(FeatureTable t, int[] rows, int column, int bins, int maxCategories)
    {
        var c = t.Columns[column];
        var y = t.Label;
        if (c.Kind == FeatureKind.Numeric)
        {
            var x = c.Numbers!;
            var present = rows.Where(r => !float.IsNaN(x[r])).Select(r => x[r]).Order().ToArray();
            if (present.Length == 0) return 0;
            // Upper edges at the quantiles; duplicates collapse so a column with few distinct values gets few bins.
            var edges = Enumerable.Range(1, bins - 1).Select(i => present[(int)((long)i * present.Length / bins)]).Distinct().ToArray();
            return Mi(rows.Select(r => float.IsNaN(x[r]) ? -1 : UpperBound(edges, x[r])), rows, y);
        }
        if (c.Kind == FeatureKind.Categorical)
        {
            var levels = DesignEncoder.TopLevels(c.Texts!, rows, maxCategories).Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i, StringComparer.Ordinal);
            return Mi(rows.Select(r => c.Texts![r].Length == 0 ? -1 : levels.TryGetValue(c.Texts![r], out int i) ? i : -2), rows, y);
        }
        double best = 0;
        var tokenSets = rows.Select(c.TokensAt).ToArray();
        foreach (var token in DesignEncoder.TopTokens(c, rows, MaxTextTokens))
            best = Math.Max(best, Mi(tokenSets.Select(s => s.Contains(token) ? 1 : 0), rows, y));
        return best;
    }

    private static int UpperBound(float[] edges, float v)
    {
        int i = Array.BinarySearch(edges, v);
        return i >= 0 ? i : ~i;
    }

    private static double Mi(IEnumerable<int> xCodes, int[] rows, bool[] y)
    {
        var joint = new Dictionary<(int, bool), int>();
        var px = new Dictionary<int, int>();
        int n = 0, pos = 0, k = 0;
        foreach (int code in xCodes)
        {
            bool yy = y[rows[k++]];
            joint[(code, yy)] = joint.GetValueOrDefault((code, yy)) + 1;
            px[code] = px.GetValueOrDefault(code) + 1;
            n++;
            if (yy) pos++;
        }
        if (n == 0 || pos == 0 || pos == n) return 0;
        double hy = -(Plog(pos / (double)n) + Plog((n - pos) / (double)n));
        double mi = 0;
        foreach (var ((code, yy), count) in joint)
        {
            double pxy = count / (double)n, pxv = px[code] / (double)n, pyv = (yy ? pos : n - pos) / (double)n;
            mi += pxy * Math.Log(pxy / (pxv * pyv));
        }
        mi -= (px.Count - 1) / (2.0 * n); // Miller–Madow: the bias of the plug-in estimate for a binary label
        return Math.Max(0, mi) / hy;
    }

    private static double Plog(double p) => p <= 0 ? 0 : p * Math.Log(p);

    public const int PathSteps = 12;

    /// <summary>
    /// An L1 logistic-regression path with ML.NET's L-BFGS (OWL-QN) trainer: penalties from where the first column
    /// enters down to 0.2% of that; a column's score is how early its weights turn non-zero (1 = first), with its
    /// weight size at the end breaking ties. Earlier entry = more evidence given the other columns.
    /// </summary>
    public static double[] L1Path(FeatureTable t, int[] rows, IReadOnlyList<int> eligible, int maxCategories, int seed)
    {
        var score = new double[t.Columns.Count];
        if (eligible.Count == 0) return score;
        var enc = DesignEncoder.Fit(t, rows, eligible, maxCategories, MaxTextTokens);
        if (enc.SlotCount == 0) return score;
        var x = enc.Encode(t, rows);
        var y = rows.Select(r => t.Label[r]).ToArray();
        double ybar = y.Count(v => v) / (double)y.Length;
        // ML.NET's L1 penalty is on the summed loss: a slot stays at zero while λ > |Σ x (y − ȳ)| (its gradient at w = 0).
        double lambdaMax = 0;
        for (int s = 0; s < enc.SlotCount; s++)
        {
            double g = 0;
            for (int i = 0; i < x.Length; i++) g += x[i][s] * ((y[i] ? 1 : 0) - ybar);
            lambdaMax = Math.Max(lambdaMax, Math.Abs(g));
        }
        if (lambdaMax <= 0) return score;
        var ml = new MLContext(seed);
        var data = new InMemoryDataViewBuilder(x.Length).AddVector("Features", x, enc.SlotCount).AddBool("Label", y).Build();
        var entry = new Dictionary<int, int>();
        double[] lastNorm = new double[t.Columns.Count];
        for (int step = 0; step < PathSteps; step++)
        {
            double lambda = lambdaMax * Math.Pow(0.002, (step + 0.5) / PathSteps);
            var w = FitLogistic(ml, data, (float)lambda, 1e-4f).Weights;
            Array.Clear(lastNorm);
            for (int s = 0; s < w.Length; s++) lastNorm[enc.SlotColumn[s]] += w[s] * w[s];
            foreach (int c in eligible)
                if (lastNorm[c] > 1e-12 && !entry.ContainsKey(c)) entry[c] = step;
            if (entry.Count == eligible.Count) break;
        }
        double maxNorm = eligible.Max(c => Math.Sqrt(lastNorm[c]));
        foreach (int c in eligible)
        {
            double tie = maxNorm > 0 ? 0.99 * Math.Sqrt(lastNorm[c]) / maxNorm : 0;
            score[c] = entry.TryGetValue(c, out int e) ? (PathSteps - e + tie) / (PathSteps + 1) : 0;
        }
        return score;
    }

    public static (float[] Weights, float Bias) FitLogistic(MLContext ml, IDataView data, float l1, float l2)
    {
        var model = ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options
        {
            L1Regularization = l1,
            L2Regularization = l2,
            NumberOfThreads = 1, // deterministic
            MaximumNumberOfIterations = 200,
        }).Fit(data).Model.SubModel;
        return (model.Weights.ToArray(), model.Bias);
    }

    /// <summary>Area under the ROC curve of scores against labels (ties count half).</summary>
    public static double Auc(double[] scores, bool[] labels)
    {
        var order = Enumerable.Range(0, scores.Length).OrderBy(i => scores[i]).ToArray();
        long pos = labels.Count(v => v), neg = labels.Length - pos;
        if (pos == 0 || neg == 0) return 0.5;
        double rankSum = 0;
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && scores[order[j + 1]] == scores[order[i]]) j++;
            double avgRank = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) if (labels[order[k]]) rankSum += avgRank;
            i = j + 1;
        }
        return (rankSum - pos * (pos + 1) / 2.0) / (pos * (double)neg);
    }

    /// <summary>Validation AUC of an L2 logistic regression on the given columns, fitted on <paramref name="train"/>.</summary>
    public static double ValidationAuc(FeatureTable t, int[] train, int[] valid, IReadOnlyList<int> columns, int maxCategories, int seed)
    {
        var enc = DesignEncoder.Fit(t, train, columns, maxCategories, MaxTextTokens);
        if (enc.SlotCount == 0) return 0.5;
        var xTrain = enc.Encode(t, train);
        var data = new InMemoryDataViewBuilder(train.Length).AddVector("Features", xTrain, enc.SlotCount)
            .AddBool("Label", train.Select(r => t.Label[r]).ToArray()).Build();
        var (w, b) = FitLogistic(new MLContext(seed), data, 0f, 1f);
        var xValid = enc.Encode(t, valid);
        var scores = xValid.Select(v => { double s = b; for (int i = 0; i < w.Length; i++) s += w[i] * v[i]; return s; }).ToArray();
        return Auc(scores, valid.Select(r => t.Label[r]).ToArray());
    }

    /// <summary>Stratified fold of each row (0..folds−1), shuffled with the seed.</summary>
    public static int[] StratifiedFolds(bool[] labels, int[] rows, int folds, int seed)
    {
        var fold = new int[rows.Length];
        var rnd = new Random(seed);
        foreach (bool cls in new[] { false, true })
        {
            var idx = Enumerable.Range(0, rows.Length).Where(i => labels[rows[i]] == cls).ToArray();
            rnd.Shuffle(idx);
            for (int k = 0; k < idx.Length; k++) fold[idx[k]] = k % folds;
        }
        return fold;
    }
}
