using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using MlNetLlm.MlNet.Data;

namespace MlNetLlm.Transforms.FeatureSelection;

/// <summary>The trust weight by cross-validation, the keep rule, and the Features vector of the kept columns.</summary>
public sealed partial class LlmFeatureSelectionEstimator
{
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
