using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using MlNetLlm.MlNet.Data;

namespace MlNetLlm.Transforms.FeatureSelection;

/// <summary>
/// The linear models behind the data evidence, one per label kind: an L1 path (logistic regression for binary,
/// multinomial logistic regression for multiclass, the Lasso for regression) that ranks columns by how early they
/// enter, and the validation metric that picks the LLM weight (AUROC, macro one-vs-rest AUROC, R²).
/// </summary>
internal static class LinearEvidence
{
    public const int PathSteps = 12;

    /// <summary>
    /// Penalties from where the first column enters down to 0.2% of that; a column's score is how early its weights
    /// turn non-zero (1 = first), with its weight size at the end breaking ties. Earlier entry = more evidence given
    /// the other columns.
    /// </summary>
    public static double[] L1Path(FeatureTable t, int[] rows, IReadOnlyList<int> eligible, int maxCategories, int seed)
    {
        var score = new double[t.Columns.Count];
        if (eligible.Count == 0) return score;
        var enc = DesignEncoder.Fit(t, rows, eligible, maxCategories, DataEvidence.MaxTextTokens);
        if (enc.SlotCount == 0) return score;
        var x = enc.Encode(t, rows);
        var path = t.Target.Kind == LabelKind.Regression
            ? LassoPath(x, Standardized(rows.Select(r => t.Target.Value[r]).ToArray()))
            : ClassificationPath(x, rows.Select(r => t.Target.Class[r]).ToArray(), t.Target.ClassCount, seed);
        var entry = new Dictionary<int, int>();
        var lastNorm = new double[t.Columns.Count];
        int step = 0;
        foreach (var slotNorms in path)
        {
            Array.Clear(lastNorm);
            for (int s = 0; s < slotNorms.Length; s++) lastNorm[enc.SlotColumn[s]] += slotNorms[s];
            foreach (int c in eligible)
                if (lastNorm[c] > 1e-12 && !entry.ContainsKey(c)) entry[c] = step;
            step++;
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

    private static double Lambda(double max, int step) => max * Math.Pow(0.002, (step + 0.5) / PathSteps);

    /// <summary>
    /// ML.NET's L-BFGS (OWL-QN) logistic regression, binary or multinomial. Its L1 penalty is on the summed loss: a slot
    /// stays at zero while λ > max over classes k of |Σ x (1[y = k] − p̄ₖ)| (its gradient at w = 0).
    /// Yields each step's squared weight per slot, summed over classes.
    /// </summary>
    private static IEnumerable<double[]> ClassificationPath(float[][] x, int[] y, int classes, int seed)
    {
        int slots = x[0].Length;
        var prior = new double[classes];
        foreach (int c in y) prior[c] += 1.0 / y.Length;
        double lambdaMax = 0;
        for (int s = 0; s < slots; s++)
        {
            var g = new double[classes];
            for (int i = 0; i < x.Length; i++)
                for (int k = 0; k < classes; k++) g[k] += x[i][s] * ((y[i] == k ? 1 : 0) - prior[k]);
            lambdaMax = Math.Max(lambdaMax, g.Max(Math.Abs));
        }
        if (lambdaMax <= 0) yield break;
        var ml = new MLContext(seed);
        for (int step = 0; step < PathSteps; step++)
        {
            var (w, _) = FitLinearClassifier(ml, x, y, classes, (float)Lambda(lambdaMax, step), 1e-4f);
            var norms = new double[slots];
            foreach (var wk in w)
                for (int s = 0; s < slots; s++) norms[s] += wk[s] * wk[s];
            yield return norms;
        }
    }

    /// <summary>The Lasso path by coordinate descent on standardised slots and label (warm-started along the path).</summary>
    private static IEnumerable<double[]> LassoPath(float[][] x, double[] y)
    {
        var cols = Columns(x);
        int n = y.Length;
        double lambdaMax = cols.Max(c => Math.Abs(Dot(c, y)) / n);
        if (lambdaMax <= 0) yield break;
        var w = new double[cols.Length];
        for (int step = 0; step < PathSteps; step++)
        {
            w = ElasticNet(cols, y, Lambda(lambdaMax, step), 0, w);
            yield return w.Select(v => v * v).ToArray();
        }
    }

    /// <summary>
    /// Minimises (1/2n)‖y − Xw‖² + l1‖w‖₁ + (l2/2)‖w‖² by cyclic coordinate descent (y centred, slots standardised, so
    /// no intercept). Deterministic; stops when no weight moves by more than 1e-6 in a sweep.
    /// </summary>
    public static double[] ElasticNet(double[][] cols, double[] y, double l1, double l2, double[]? start = null, int maxSweeps = 500)
    {
        int n = y.Length;
        var w = start is null ? new double[cols.Length] : (double[])start.Clone();
        var r = (double[])y.Clone();
        for (int j = 0; j < cols.Length; j++)
            if (w[j] != 0) for (int i = 0; i < n; i++) r[i] -= cols[j][i] * w[j];
        var sq = cols.Select(c => Dot(c, c) / n).ToArray();
        for (int sweep = 0; sweep < maxSweeps; sweep++)
        {
            double moved = 0;
            for (int j = 0; j < cols.Length; j++)
            {
                if (sq[j] + l2 <= 0) continue;
                var c = cols[j];
                double rho = Dot(c, r) / n + sq[j] * w[j];
                double updated = Math.Sign(rho) * Math.Max(0, Math.Abs(rho) - l1) / (sq[j] + l2);
                double d = updated - w[j];
                if (d == 0) continue;
                for (int i = 0; i < n; i++) r[i] -= c[i] * d;
                w[j] = updated;
                moved = Math.Max(moved, Math.Abs(d));
            }
            if (moved < 1e-6) break;
        }
        return w;
    }

    /// <summary>
    /// Validation score of an L2-regularised linear model on the given columns, fitted on <paramref name="train"/>:
    /// AUROC (binary), macro one-vs-rest AUROC (multiclass), R² (regression). Higher is better for all three.
    /// </summary>
    public static double ValidationScore(FeatureTable t, int[] train, int[] valid, IReadOnlyList<int> columns, int maxCategories, int seed)
    {
        var enc = DesignEncoder.Fit(t, train, columns, maxCategories, DataEvidence.MaxTextTokens);
        var xTrain = enc.Encode(t, train);
        var xValid = enc.Encode(t, valid);
        if (t.Target.Kind == LabelKind.Regression)
        {
            var yTrain = train.Select(r => t.Target.Value[r]).ToArray();
            double mean = yTrain.Average();
            // Ridge with the penalty the classifiers use (L2 = 1 on the summed loss = 1/n on the mean loss).
            var w = enc.SlotCount == 0 ? [] : ElasticNet(Columns(xTrain), yTrain.Select(v => v - mean).ToArray(), 0, 1.0 / train.Length);
            var predicted = xValid.Select(v => mean + Enumerable.Range(0, w.Length).Sum(i => w[i] * v[i])).ToArray();
            return RSquared(predicted, valid.Select(r => t.Target.Value[r]).ToArray());
        }
        var yValid = valid.Select(r => t.Target.Class[r]).ToArray();
        if (enc.SlotCount == 0) return 0.5;
        int k = t.Target.ClassCount;
        var (weights, bias) = FitLinearClassifier(new MLContext(seed), xTrain, train.Select(r => t.Target.Class[r]).ToArray(), k, 0f, 1f);
        var scores = xValid.Select(v => weights.Select((wk, c) => bias[c] + Enumerable.Range(0, v.Length).Sum(i => (double)wk[i] * v[i])).ToArray()).ToArray();
        return k == 2 ? Auc(scores.Select(s => s[1] - s[0]).ToArray(), yValid.Select(c => c == 1).ToArray()) : MacroAuc(scores, yValid, k);
    }

    /// <summary>
    /// Weights per class (binary: [−w, w] so class 1 scores w·x) and biases of an L-BFGS logistic (binary) or
    /// maximum-entropy (multiclass) model with the given penalties. One thread: deterministic.
    /// </summary>
    private static (float[][] Weights, float[] Bias) FitLinearClassifier(MLContext ml, float[][] x, int[] y, int classes, float l1, float l2)
    {
        int slots = x[0].Length;
        if (classes == 2)
        {
            var data = new InMemoryDataViewBuilder(x.Length).AddVector("Features", x, slots).AddBool("Label", y.Select(c => c == 1).ToArray()).Build();
            var model = ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options
            {
                L1Regularization = l1, L2Regularization = l2, NumberOfThreads = 1, MaximumNumberOfIterations = 200,
            }).Fit(data).Model.SubModel;
            var w = model.Weights.ToArray();
            return ([new float[slots], w], [0f, model.Bias]);
        }
        // The classes as a key in index order (keyData), so weight row k is class k even when a fold lacks a class.
        var rows = new InMemoryDataViewBuilder(x.Length).AddVector("Features", x, slots).AddFloat("Class", y.Select(c => (float)c).ToArray()).Build();
        var keys = new InMemoryDataViewBuilder(classes).AddFloat("Class", Enumerable.Range(0, classes).Select(c => (float)c).ToArray()).Build();
        var fitted = ml.Transforms.Conversion.MapValueToKey("Label", "Class", keyData: keys)
            .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(new LbfgsMaximumEntropyMulticlassTrainer.Options
            {
                L1Regularization = l1, L2Regularization = l2, NumberOfThreads = 1, MaximumNumberOfIterations = 200,
            })).Fit(rows).LastTransformer.Model;
        VBuffer<float>[] weights = [];
        fitted.GetWeights(ref weights, out _);
        return (weights.Select(v => v.DenseValues().ToArray()).ToArray(), fitted.GetBiases().ToArray());
    }

    /// <summary>Mean over classes of the AUROC of class k's score against the rest; classes absent from the rows (or alone in them) are skipped.</summary>
    public static double MacroAuc(double[][] scores, int[] y, int classes)
    {
        var aucs = new List<double>();
        for (int k = 0; k < classes; k++)
        {
            var isK = y.Select(c => c == k).ToArray();
            if (!isK.Any(v => v) || isK.All(v => v)) continue;
            // Softmax probability of k, not the raw score: one-vs-rest compares rows, and rows differ in their other scores.
            aucs.Add(Auc(scores.Select(s => Softmax(s, k)).ToArray(), isK));
        }
        return aucs.Count == 0 ? 0.5 : aucs.Average();
    }

    private static double Softmax(double[] s, int k)
    {
        double max = s.Max(), sum = s.Sum(v => Math.Exp(v - max));
        return Math.Exp(s[k] - max) / sum;
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

    /// <summary>1 − SSE/SST around the rows' own mean (0 = no better than that mean, negative = worse).</summary>
    public static double RSquared(double[] predicted, double[] actual)
    {
        double mean = actual.Average(), sse = 0, sst = 0;
        for (int i = 0; i < actual.Length; i++) { sse += Math.Pow(actual[i] - predicted[i], 2); sst += Math.Pow(actual[i] - mean, 2); }
        return sst > 0 ? 1 - sse / sst : 0;
    }

    /// <summary>Fold of each row (0..folds−1), stratified by the given codes (classes, or bins of a continuous label), shuffled with the seed.</summary>
    public static int[] StratifiedFolds(int[] codes, int folds, int seed)
    {
        var fold = new int[codes.Length];
        var rnd = new Random(seed);
        foreach (int code in codes.Distinct().Order())
        {
            var idx = Enumerable.Range(0, codes.Length).Where(i => codes[i] == code).ToArray();
            rnd.Shuffle(idx);
            for (int k = 0; k < idx.Length; k++) fold[idx[k]] = k % folds;
        }
        return fold;
    }

    private static double[] Standardized(double[] y)
    {
        double mean = y.Average(), sd = Math.Sqrt(y.Sum(v => (v - mean) * (v - mean)) / y.Length);
        return y.Select(v => sd > 0 ? (v - mean) / sd : 0).ToArray();
    }

    private static double[][] Columns(float[][] x)
    {
        int p = x.Length == 0 ? 0 : x[0].Length;
        var cols = new double[p][];
        for (int j = 0; j < p; j++)
        {
            cols[j] = new double[x.Length];
            for (int i = 0; i < x.Length; i++) cols[j][i] = x[i][j];
        }
        return cols;
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }
}
