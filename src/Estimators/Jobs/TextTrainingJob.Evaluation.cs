using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.Estimators.Jobs;

/// <summary>The saved model's label names and the test metrics.</summary>
public static partial class TextTrainingJob
{
    /// <summary>Appends the step that turns predictions back into class names, so the saved model speaks the data's labels.</summary>
    public static ITransformer WithLabelNames(MLContext ml, TextJobData d, ITransformer fitted, IDataView train)
    {
        IEstimator<ITransformer>? tail = d.Task switch
        {
            TaskKind.Multiclass => ml.Transforms.Conversion.MapKeyToValue("PredictedLabelValue", "PredictedLabel"),
            TaskKind.Binary => ml.Transforms.Conversion.MapValue("PredictedLabelValue",
                new[] { new KeyValuePair<bool, ReadOnlyMemory<char>>(false, d.Classes[0].AsMemory()), new(true, d.Classes[1].AsMemory()) }, "PredictedLabel"),
            _ => null,
        };
        if (tail is null) return fitted;
        var scored = fitted.Transform(train);
        return new TransformerChain<ITransformer>(fitted, tail.Fit(scored));
    }

    /// <summary>
    /// Test metrics of <paramref name="model"/> on <paramref name="d"/>'s test rows. Rows whose label never occurred in
    /// training cannot be predicted right by any encoder: they count as wrong in the accuracy, are reported in
    /// <see cref="TextJobMetrics.UnseenLabelRows"/>, and the other metrics (macro-F1, log-loss, AUC) are those of the
    /// remaining rows.
    /// </summary>
    public static TextJobMetrics Evaluate(MLContext ml, TextJobData d, ITransformer model) => Evaluate(ml, d, ScoreTest(ml, d, model));

    /// <summary>The test rows whose label occurred in training (all rows for regression), scored by <paramref name="model"/>
    /// (lazily), and how many rows were left out for an unseen label.</summary>
    public static (IDataView Scored, int Unseen) ScoreTest(MLContext ml, TextJobData d, ITransformer model)
    {
        if (d.Task == TaskKind.Regression) return (model.Transform(d.TestView(ml)), 0);
        var known = d.Classes.ToHashSet(StringComparer.Ordinal);
        var seen = d.Test.Where(r => known.Contains(r.Label)).ToList();
        if (seen.Count == 0)
            throw new InvalidOperationException($"None of the {d.Test.Count} test rows has a label that occurred in training: there is nothing to evaluate.");
        return (model.Transform(d.InputView(ml, seen)), d.Test.Count - seen.Count);
    }

    /// <summary>Test metrics from <see cref="ScoreTest"/>'s rows; the unseen rows count as wrong in the accuracy.</summary>
    public static TextJobMetrics Evaluate(MLContext ml, TextJobData d, (IDataView Scored, int Unseen) test)
    {
        var m = Evaluate(ml, d, test.Scored);
        return test.Unseen == 0 ? m : m with { Accuracy = m.Accuracy * (d.Test.Count - test.Unseen) / d.Test.Count, UnseenLabelRows = test.Unseen };
    }

    /// <summary>Metrics of already-scored rows (all of whose labels occurred in training).</summary>
    public static TextJobMetrics Evaluate(MLContext ml, TextJobData d, IDataView scored)
    {
        switch (d.Task)
        {
            case TaskKind.Multiclass:
            {
                var m = ml.MulticlassClassification.Evaluate(scored);
                return new TextJobMetrics
                {
                    Task = "multiclass", Encoder = "", Accuracy = m.MicroAccuracy, MacroF1 = MacroF1(m.ConfusionMatrix), LogLoss = m.LogLoss,
                    TrainSeconds = 0, Rows = 0, TestRows = 0, Classes = d.Classes,
                };
            }
            case TaskKind.Binary:
            {
                var m = ml.BinaryClassification.Evaluate(scored);
                return new TextJobMetrics
                {
                    Task = "binary", Encoder = "", Accuracy = m.Accuracy, MacroF1 = MacroF1(m.ConfusionMatrix), LogLoss = m.LogLoss, Auc = m.AreaUnderRocCurve,
                    TrainSeconds = 0, Rows = 0, TestRows = 0, Classes = d.Classes,
                };
            }
            default:
            {
                var m = ml.Regression.Evaluate(scored);
                return new TextJobMetrics { Task = "regression", Encoder = "", RSquared = m.RSquared, Mae = m.MeanAbsoluteError, TrainSeconds = 0, Rows = 0, TestRows = 0 };
            }
        }
    }

    /// <summary>Unweighted mean of per-class F1 (classes absent from both truth and prediction count as 0, as sklearn does with zero_division=0).</summary>
    public static double MacroF1(ConfusionMatrix cm)
    {
        int k = cm.NumberOfClasses;
        double sum = 0;
        for (int c = 0; c < k; c++)
        {
            double tp = cm.Counts[c][c];
            double fn = cm.Counts[c].Sum() - tp;
            double fp = Enumerable.Range(0, k).Sum(r => cm.Counts[r][c]) - tp;
            sum += tp == 0 ? 0 : 2 * tp / (2 * tp + fp + fn);
        }
        return sum / k;
    }
}
