using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>After the search: the chosen trial's model, refitted on all training rows when asked, scored once on the
/// test rows (never used to choose) for the metrics and the confusion matrix.</summary>
internal static class ExperimentEvaluation
{
    public static ExperimentResult Evaluate(MLContext ml, ExperimentOptions o, TextJobData job, int fitRows, IReadOnlyList<Candidate> candidates,
        IReadOnlyList<TrialRecord> trials, TrialRecord bestTrial, ITransformer bestModel, string metricName, DataViewSchema inputSchema, Stopwatch total,
        Selection.ModelPick? pick = null, DateTime? deadline = null)
    {
        var bestCandidate = candidates.First(c => c.Name == bestTrial.Parameters.GetString(TextExperiment.CandidateKey));
        TextJobMetrics TestMetrics((IDataView Scored, int Unseen) test, double seconds, int rows) => TextTrainingJob.Evaluate(ml, job, test) with
        {
            Encoder = bestCandidate.Name, TrainSeconds = seconds, Rows = rows, TestRows = job.Test.Count, Precision = bestTrial.Precision,
        };
        RefitSummary? refit = null;
        // The refit trains on every training row: the trial's own cost scaled by the rows, against the time left.
        double trialRows = fitRows * TrialScheduler.FractionOf(bestTrial.Parameters);
        double refitSeconds = (bestTrial.DurationSeconds ?? 0) * job.Train.Count / Math.Max(1, trialRows);
        double left = deadline is { } d ? (d - DateTime.UtcNow).TotalSeconds : double.PositiveInfinity;
        bool doRefit = o.Refit ?? refitSeconds <= left;
        string? refitNote = o.Refit is null && !doRefit
            ? $"Not refitted on all training rows: that would take about {refitSeconds:F0} s and {Math.Max(0, left):F0} s of the budget were left."
            : null;
        if (doRefit)
        {
            // job's training rows are fit + validation; its test rows stay unseen. Neural trials ran all their epochs
            // (no early stopping in the search), so the same parameters mean the same number of epochs.
            var before = TestMetrics(TextTrainingJob.ScoreTest(ml, job, bestModel), bestTrial.DurationSeconds ?? 0, fitRows);
            var sw = Stopwatch.StartNew();
            bestModel = bestCandidate.Refit(ml, job, RefitParameters(bestTrial), o.Device, o.CancellationToken);
            refit = new RefitSummary(job.Train.Count, sw.Elapsed.TotalSeconds, before);
        }
        // Scored once (cached) for both the metrics and the confusion matrix: scoring is the slow part for a neural model.
        var test = TextTrainingJob.ScoreTest(ml, job, bestModel);
        test.Scored = ml.Data.Cache(test.Scored);
        var scored = test.Scored;
        var testMetrics = TestMetrics(test, refit?.Seconds ?? bestTrial.DurationSeconds ?? 0, refit?.Rows ?? fitRows);
        double[][]? confusion = job.Task switch
        {
            TaskKind.Multiclass => ml.MulticlassClassification.Evaluate(scored).ConfusionMatrix.Counts.Select(r => r.ToArray()).ToArray(),
            TaskKind.Binary => Confusion2(ml.BinaryClassification.Evaluate(scored).ConfusionMatrix),
            _ => null,
        };
        string? baseline = trials.Where(t => t.Status == TrialStatus.Completed && candidates.Any(c => c.IsClassical && c.Name == t.Parameters.GetString(TextExperiment.CandidateKey)))
            .MaxBy(t => t.Metric)?.Parameters.GetString(TextExperiment.CandidateKey);
        return new ExperimentResult(bestModel, bestTrial, trials, testMetrics, confusion, metricName, total.Elapsed.TotalSeconds, job, inputSchema, baseline, refit, pick, refitNote);
    }

    /// <summary>The chosen trial's parameters for a refit: all rows, and the epochs it kept (a trial the budget stopped
    /// kept its best validated epoch, so the refit trains that many).</summary>
    private static ParameterSet RefitParameters(TrialRecord t)
    {
        var p = TrialScheduler.CandidateParameters(t.Parameters);
        if (t.Retries.Any(r => r.StartsWith("stopped by the time budget", StringComparison.Ordinal)) && t.Epochs.Count > 0 && p.ContainsKey(ParameterNames.Epochs))
            p = p.With(ParameterNames.Epochs, t.Epochs.MaxBy(e => e.Metric)!.Epoch);
        return p;
    }

    // ML.NET's binary confusion matrix lists the positive class first; the report lists classes in label order.
    private static double[][] Confusion2(ConfusionMatrix cm) =>
        [[cm.Counts[1][1], cm.Counts[1][0]], [cm.Counts[0][1], cm.Counts[0][0]]];
}
