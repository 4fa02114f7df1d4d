using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.LightGbm;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Transforms.FeatureSelection;

namespace MlNetLlm.Bench.FeatureSelection;

/// <summary>
/// A CSV table in memory: numeric columns as floats (empty/NA = missing), the rest as text, and the label as the
/// positive class (binary), a class name (multiclass) or a number (regression). Rows without a label are dropped.
/// </summary>
internal sealed class Table
{
    private readonly Dictionary<string, float[]> _numbers = [];
    private readonly Dictionary<string, string[]> _texts = [];
    private readonly string[] _label;
    public LabelKind Kind { get; }
    public List<string> Columns { get; } = [];
    public int Rows => _label.Length;

    public Table(CsvTable csv, Dataset ds)
    {
        Kind = ds.Kind;
        var all = csv.Column(ds.Label);
        var keep = Enumerable.Range(0, all.Length).Where(i => !Missing(all[i])).ToArray();
        _label = keep.Select(i => all[i]).ToArray();
        if (Kind == LabelKind.Binary && !_label.Contains(ds.Positive)) throw new ArgumentException($"'{csv.Source}': label '{ds.Label}' has no value '{ds.Positive}'.");
        foreach (var c in csv.Header.Where(h => h != ds.Label && !ds.Drop.Contains(h)))
        {
            Columns.Add(c);
            var values = csv.Column(c);
            if (csv.IsNumeric(c))
                _numbers[c] = keep.Select(i => Missing(values[i]) ? float.NaN : float.Parse(values[i], NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray();
            else
                _texts[c] = keep.Select(i => values[i]).ToArray();
        }
        Positive = ds.Positive;
    }

    private string Positive { get; }
    private static bool Missing(string v) => v.Trim() is "" or "NA" or "NaN";
    public bool IsNumeric(string c) => _numbers.ContainsKey(c);
    private double Value(int r) => double.Parse(_label[r], NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>70/30 split, stratified by class (classification) or by label quintile (regression).</summary>
    public (int[] Train, int[] Test) StratifiedSplit(double testFraction, int seed)
    {
        var rnd = new Random(seed);
        var train = new List<int>();
        var test = new List<int>();
        int[] strata = Kind == LabelKind.Regression
            ? Quintiles()
            : _label.Select(v => Kind == LabelKind.Binary ? (v == Positive ? 1 : 0) : v.GetHashCode(StringComparison.Ordinal)).ToArray();
        foreach (int s in strata.Distinct().Order())
        {
            var idx = Enumerable.Range(0, Rows).Where(i => strata[i] == s).ToArray();
            rnd.Shuffle(idx);
            int nTest = (int)Math.Round(idx.Length * testFraction);
            test.AddRange(idx.Take(nTest));
            train.AddRange(idx.Skip(nTest));
        }
        train.Sort();
        test.Sort();
        return (train.ToArray(), test.ToArray());
    }

    private int[] Quintiles()
    {
        var order = Enumerable.Range(0, Rows).OrderBy(Value).ToArray();
        var q = new int[Rows];
        for (int k = 0; k < order.Length; k++) q[order[k]] = k * 5 / order.Length;
        return q;
    }

    /// <summary>The rows as a data view with the label in "Label": Boolean, text classes, or Single.</summary>
    public IDataView View(int[] rows)
    {
        var b = new InMemoryDataViewBuilder(rows.Length);
        foreach (var c in Columns)
        {
            if (_numbers.TryGetValue(c, out var x)) b.AddFloat(c, rows.Select(r => x[r]).ToArray());
            else b.AddText(c, rows.Select(r => _texts[c][r]).ToArray());
        }
        return (Kind switch
        {
            LabelKind.Binary => b.AddBool("Label", rows.Select(r => _label[r] == Positive).ToArray()),
            LabelKind.Multiclass => b.AddText("Label", rows.Select(r => _label[r]).ToArray()),
            _ => b.AddFloat("Label", rows.Select(r => (float)Value(r)).ToArray()),
        }).Build();
    }
}

internal static class Downstream
{
    /// <summary>
    /// Test metric of a learner on the given columns (numbers mean-imputed, text one-hot encoded): AUROC (binary),
    /// macro one-vs-rest AUROC (multiclass), R² (regression). LightGbm at ML.NET defaults, or a linear model
    /// (logistic / maximum entropy / SDCA regression) on mean–variance normalised features; one thread.
    /// </summary>
    public static double TestScore(Table t, List<string> columns, IDataView train, IDataView test, string learner, int seed)
    {
        var ml = new MLContext(seed);
        var chain = new EstimatorChain<ITransformer>();
        foreach (var c in columns)
            chain = chain.Append<ITransformer>(t.IsNumeric(c) ? ml.Transforms.ReplaceMissingValues(c) : ml.Transforms.Categorical.OneHotEncoding(c));
        chain = chain.Append<ITransformer>(ml.Transforms.Concatenate("Features", columns.ToArray()));
        if (learner != "LightGbm") chain = chain.Append<ITransformer>(ml.Transforms.NormalizeMeanVariance("Features"));
        switch (t.Kind)
        {
            case LabelKind.Binary:
            {
                var model = chain.Append<ITransformer>(learner == "LightGbm"
                    ? ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options { NumberOfThreads = 1, Seed = seed, Verbose = false, Silent = true })
                    : ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new Microsoft.ML.Trainers.LbfgsLogisticRegressionBinaryTrainer.Options { NumberOfThreads = 1 })).Fit(train);
                return ml.BinaryClassification.EvaluateNonCalibrated(model.Transform(test)).AreaUnderRocCurve;
            }
            case LabelKind.Multiclass:
            {
                // Classes in sorted order (keyData), so the Score slots are the same classes on every split.
                var classes = Labels(train).Concat(Labels(test)).Distinct().Order(StringComparer.Ordinal).ToArray();
                var keys = new InMemoryDataViewBuilder(classes.Length).AddText("Label", classes).Build();
                var model = chain.Append<ITransformer>(ml.Transforms.Conversion.MapValueToKey("Label", "Label", keyData: keys))
                    .Append<ITransformer>(learner == "LightGbm"
                        ? ml.MulticlassClassification.Trainers.LightGbm(new LightGbmMulticlassTrainer.Options { NumberOfThreads = 1, Seed = seed, Verbose = false, Silent = true })
                        : ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(new Microsoft.ML.Trainers.LbfgsMaximumEntropyMulticlassTrainer.Options { NumberOfThreads = 1 })).Fit(train);
                return MacroAuc(model.Transform(test), classes, Labels(test));
            }
            default:
            {
                if (learner == "LightGbm")
                {
                    var model = chain.Append<ITransformer>(ml.Regression.Trainers.LightGbm(new LightGbmRegressionTrainer.Options { NumberOfThreads = 1, Seed = seed, Verbose = false, Silent = true })).Fit(train);
                    return ml.Regression.Evaluate(model.Transform(test)).RSquared;
                }
                // Least squares (a 1e-6 ridge for collinear one-hot slots) by the normal equations: ML.NET's SDCA regression
                // diverged on some single-column fits here, and the closed form has no step size to go wrong.
                var featurizer = chain.Fit(train);
                var (xTrain, yTrain) = Design(featurizer.Transform(train));
                var (xTest, yTest) = Design(featurizer.Transform(test));
                var w = LeastSquares(xTrain, yTrain);
                var predicted = xTest.Select(x => x.Zip(w).Sum(p => p.First * p.Second)).ToArray();
                double mean = yTest.Average();
                return 1 - yTest.Zip(predicted).Sum(p => (p.First - p.Second) * (p.First - p.Second)) / yTest.Sum(v => (v - mean) * (v - mean));
            }
        }
    }

    /// <summary>Features with a leading 1 (the intercept) and the label, as doubles.</summary>
    private static (double[][] X, double[] Y) Design(IDataView v)
    {
        var x = v.GetColumn<VBuffer<float>>("Features").Select(f => f.DenseValues().Select(d => (double)d).Prepend(1.0).ToArray()).ToArray();
        return (x, v.GetColumn<float>("Label").Select(y => (double)y).ToArray());
    }

    /// <summary>Solves (XᵀX + 1e-6·n·I) w = Xᵀy by Cholesky.</summary>
    private static double[] LeastSquares(double[][] x, double[] y)
    {
        int p = x[0].Length, n = x.Length;
        var a = new double[p, p];
        var b = new double[p];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < p; j++)
            {
                b[j] += x[i][j] * y[i];
                for (int k = 0; k <= j; k++) a[j, k] += x[i][j] * x[i][k];
            }
        for (int j = 0; j < p; j++) a[j, j] += 1e-6 * n;
        var l = new double[p, p];
        for (int j = 0; j < p; j++)
        {
            double d = a[j, j];
            for (int k = 0; k < j; k++) d -= l[j, k] * l[j, k];
            l[j, j] = Math.Sqrt(Math.Max(d, 1e-12));
            for (int i = j + 1; i < p; i++)
            {
                double s = a[i, j];
                for (int k = 0; k < j; k++) s -= l[i, k] * l[j, k];
                l[i, j] = s / l[j, j];
            }
        }
        var z = new double[p];
        for (int i = 0; i < p; i++) { double s = b[i]; for (int k = 0; k < i; k++) s -= l[i, k] * z[k]; z[i] = s / l[i, i]; }
        var w = new double[p];
        for (int i = p - 1; i >= 0; i--) { double s = z[i]; for (int k = i + 1; k < p; k++) s -= l[k, i] * w[k]; w[i] = s / l[i, i]; }
        return w;
    }

    private static string[] Labels(IDataView v) => v.GetColumn<ReadOnlyMemory<char>>("Label").Select(m => m.ToString()).ToArray();

    /// <summary>Mean over classes of the one-vs-rest AUROC of that class's probability (the Score slot of its key).</summary>
    private static double MacroAuc(IDataView scored, string[] classes, string[] truth)
    {
        var scores = scored.GetColumn<VBuffer<float>>("Score").Select(v => v.DenseValues().ToArray()).ToArray();
        var aucs = new List<double>();
        for (int k = 0; k < classes.Length; k++)
        {
            var isK = truth.Select(y => y == classes[k]).ToArray();
            if (isK.All(v => v) || !isK.Any(v => v)) continue;
            aucs.Add(Auc(scores.Select(s => (double)s[k]).ToArray(), isK));
        }
        return aucs.Average();
    }

    private static double Auc(double[] scores, bool[] labels)
    {
        var order = Enumerable.Range(0, scores.Length).OrderBy(i => scores[i]).ToArray();
        long pos = labels.Count(v => v), neg = labels.Length - pos;
        double rankSum = 0;
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && scores[order[j + 1]] == scores[order[i]]) j++;
            for (int k = i; k <= j; k++) if (labels[order[k]]) rankSum += (i + j) / 2.0 + 1;
            i = j + 1;
        }
        return (rankSum - pos * (pos + 1) / 2.0) / (pos * (double)neg);
    }
}

internal sealed record Dataset(string Key, string Name, string File, string Label, LabelKind Kind, string Positive, string Task, string? LabelDescription,
    Dictionary<string, string> Descriptions, string[] Drop)
{
    public string Metric => Kind switch { LabelKind.Binary => "AUROC", LabelKind.Multiclass => "macro one-vs-rest AUROC", _ => "R²" };

    public static readonly Dataset[] All =
    [
        new("breast", "Breast cancer (Wisconsin)", "sklearn_breast_cancer.csv", "diagnosis", LabelKind.Binary, "malignant",
            "Predict whether a breast tumour is malignant or benign from features computed from a digitized image of a fine needle aspirate of the mass, describing the cell nuclei.",
            "malignant (positive) or benign", [], []),
        new("pima", "Pima Indians diabetes", "mlbench_pima_indians_diabetes.csv", "diabetes", LabelKind.Binary, "pos",
            "Predict whether a woman of Pima Indian heritage, aged 21 or older, has diabetes from diagnostic measurements.",
            "pos if the woman tested positive for diabetes",
            new()
            {
                ["pregnant"] = "number of times pregnant",
                ["glucose"] = "plasma glucose concentration 2 hours into an oral glucose tolerance test",
                ["pressure"] = "diastolic blood pressure (mm Hg)",
                ["triceps"] = "triceps skin fold thickness (mm)",
                ["insulin"] = "2-hour serum insulin (mu U/ml)",
                ["mass"] = "body mass index (weight in kg / height in m squared)",
                ["pedigree"] = "diabetes pedigree function (family history)",
                ["age"] = "age in years",
            }, []),
        new("churn", "Telecom churn", "modeldata_mlc_churn.csv", "churn", LabelKind.Binary, "yes",
            "Predict whether a mobile phone customer will churn (leave the provider) from their account and usage data.",
            "yes if the customer left", [], []),
        new("attrition", "IBM HR attrition", "modeldata_attrition.csv", "Attrition", LabelKind.Binary, "Yes",
            "Predict whether an employee will leave the company (attrition) from HR data about the employee and the job.",
            "Yes if the employee left", [], []),
        new("wine", "Wine cultivars", "sklearn_wine.csv", "cultivar", LabelKind.Multiclass, "",
            "Predict which of three cultivars (grape varieties) an Italian wine comes from, from a chemical analysis of the wine.",
            "the cultivar: class_0, class_1 or class_2", [], []),
        new("penguins", "Palmer penguins: species", "modeldata_penguins.csv", "species", LabelKind.Multiclass, "",
            "Predict the species of a penguin (Adelie, Chinstrap or Gentoo) from its body measurements, sex and the island where it was observed.",
            "penguin species", [], []),
        new("diabetes", "Diabetes progression", "sklearn_diabetes.csv", "target", LabelKind.Regression, "",
            "Predict how far a patient's diabetes progresses in the year after baseline from age, sex, body mass index, blood pressure and blood serum measurements.",
            "a quantitative measure of disease progression one year after baseline",
            new()
            {
                // sklearn's description of the table (load_diabetes): the serum columns are only numbered in the file.
                ["age"] = "age in years", ["sex"] = "sex", ["bmi"] = "body mass index", ["bp"] = "average blood pressure",
                ["s1"] = "tc, total serum cholesterol", ["s2"] = "ldl, low-density lipoproteins", ["s3"] = "hdl, high-density lipoproteins",
                ["s4"] = "tch, total cholesterol / HDL", ["s5"] = "ltg, possibly log of serum triglycerides level", ["s6"] = "glu, blood sugar level",
            }, []),
        new("penguin-mass", "Palmer penguins: body mass", "modeldata_penguins.csv", "body_mass_g", LabelKind.Regression, "",
            "Predict the body mass of a penguin in grams from its species, bill and flipper measurements, sex and island.",
            "body mass in grams", [], []),
    ];
}
