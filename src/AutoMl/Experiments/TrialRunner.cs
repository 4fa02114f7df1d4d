using System.Diagnostics;
using Microsoft.ML;
using MlNetLlm.AutoMl.Scheduling;
using MlNetLlm.Estimators.Jobs;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>
/// Runs one trial of a candidate and records how it ended: completed (also when the time budget ended its training
/// after a validated epoch: the best epoch's model is its result), pruned by ASHA after an epoch, stopped by the time
/// budget before any validated result, failed, or retried once at half the batch size after running out of memory.
/// A neural trial whose first epoch cannot end in the time left — projected from its first batches — is stopped at
/// once rather than left to run out the budget. Cancellation (Ctrl+C) marks the trial and is passed on.
/// </summary>
internal static class TrialRunner
{
    /// <summary>Batches timed before a trial's first epoch is projected (the first ones include warming up).</summary>
    private const int ProjectAfterBatches = 6;

    public static TrialOutcome? Run(MLContext ml, ExperimentOptions o, TextJobData search, ITrialStore store, TrialRecord trial, Candidate candidate,
        IPruner pruner, DateTime deadline, string? precision, TrialCostModel costs)
    {
        var parameters = TrialScheduler.CandidateParameters(trial.Parameters);
        double fraction = TrialScheduler.FractionOf(trial.Parameters);
        // A lower rung of the ladder trains on a nested, stratified share of the fit rows; validation rows are all kept.
        var data = fraction >= 1 ? search : search.WithRows(DataShare.Take(search.Train, r => r.Label, fraction, o.Data.Seed), search.Test);
        o.Events?.Report(new ExperimentEvent.TrialStarted((int)trial.Id, candidate.Name, TextExperiment.Strip(trial.Parameters)));
        var sw = Stopwatch.StartNew();
        using var memory = new PeakMemorySampler(o.Device);
        TrialResources Used() => memory.Resources(sw) with { Precision = precision };
        using var heartbeat = new Timer(_ =>
        {
            try { store.Heartbeat(trial.Id); }
            catch (TrialStoreException) { } // the trial ended meanwhile, or the store is briefly unreachable: the next beat tries again
        }, null, o.HeartbeatInterval, o.HeartbeatInterval);
        // The budget stops a trial (keeping what it validated); Ctrl+C cancels it.
        using var stop = new CancellationTokenSource();
        var remaining = deadline - DateTime.UtcNow;
        stop.CancelAfter(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
        string stopReason = "the time budget ran out before its first validated epoch";
        var firstBatches = Stopwatch.StartNew();
        double firstBatchEnd = 0;
        long firstBatchTokens = 0;
        int? maxLength = parameters.ContainsKey(ParameterNames.MaxLength) ? parameters.GetInt(ParameterNames.MaxLength) : null;
        var control = new TrialControl
        {
            Cancellation = o.CancellationToken,
            Stop = stop.Token,
            OnEpoch = e =>
            {
                double metric = e.ValidationMetric ?? double.NaN;
                store.ReportEpoch(trial.Id, new EpochMetric(e.Epoch, metric, e.TrainLoss, e.Seconds));
                o.Events?.Report(new ExperimentEvent.EpochEnded((int)trial.Id, candidate.Name, e.Epoch, metric));
                if (e.Epoch < e.Epochs && pruner.ShouldPrune(trial.Id, e.Epoch, metric))
                    throw new TrialPrunedException(e.Epoch, metric);
            },
            OnBatch = b =>
            {
                // Project the first epoch from its first batches, timed from the end of the first one (model loading,
                // tokenizing and the first batch's warm-up are behind it) and per padded token (batches differ in
                // length): one that cannot end in the time left stops now. What was measured tells the scheduler what
                // the next trial of this candidate would cost.
                if (b.Epoch != 1 || maxLength is not { } length) return;
                if (b.Batch == 1)
                {
                    (firstBatchEnd, firstBatchTokens) = (firstBatches.Elapsed.TotalSeconds, b.TokensSoFar);
                    return;
                }
                if (b.Batch != ProjectAfterBatches || b.EpochTokens <= 0 || b.TokensSoFar <= firstBatchTokens) return;
                double perToken = (firstBatches.Elapsed.TotalSeconds - firstBatchEnd) / (b.TokensSoFar - firstBatchTokens);
                double validation = 1 + TrialCostModel.ValidationShare * search.Test.Count / Math.Max(1, data.Train.Count);
                double epochSeconds = perToken * b.EpochTokens * validation;
                costs.RecordEpoch(candidate.Name, data.Train.Count + (int)(TrialCostModel.ValidationShare * search.Test.Count), length, epochSeconds);
                double rest = perToken * (b.EpochTokens - b.TokensSoFar) * validation, left = (deadline - DateTime.UtcNow).TotalSeconds;
                if (rest > left)
                {
                    stopReason = $"budget: its first epoch would take about {epochSeconds:F0} s and {left:F0} s were left";
                    stop.Cancel();
                }
            },
        };
        bool retried = false;
        TrialOutcome? outcome = null;
        while (outcome is null)
        {
            try
            {
                outcome = candidate.Run(ml, data, parameters, o.Device, control);
            }
            catch (Exception e) when (Unwrap(e) is TrialPrunedException p)
            {
                store.Prune(trial.Id, p.Metric, Used());
                o.Events?.Report(new ExperimentEvent.TrialPruned((int)trial.Id, candidate.Name, p.Epochs, "asha"));
                return null;
            }
            catch (Exception e) when (Unwrap(e) is OperationCanceledException && !o.CancellationToken.IsCancellationRequested)
            {
                // The time budget ended it before any validated result (a classical fit is stopped between its steps).
                store.Stop(trial.Id, stopReason, Used());
                o.Events?.Report(new ExperimentEvent.TrialStopped((int)trial.Id, candidate.Name, stopReason));
                return null;
            }
            catch (Exception e) when (!retried && IsOutOfMemory(e) && parameters.ContainsKey(ParameterNames.BatchSize) && parameters.GetInt(ParameterNames.BatchSize) > 1)
            {
                retried = true;
                int half = parameters.GetInt(ParameterNames.BatchSize) / 2;
                parameters = parameters.With(ParameterNames.BatchSize, half);
                // The stored parameters stay the tuner's proposal (the halved size may not be in the space); the note says what ran.
                store.AddRetry(trial.Id, $"retried with batch size {half} after out-of-memory: {Unwrap(e).Message}");
            }
            catch (Exception e) when (Unwrap(e) is not OperationCanceledException)
            {
                var inner = Unwrap(e);
                store.Fail(trial.Id, $"{inner.GetType().Name}: {inner.Message}", Used());
                o.Events?.Report(new ExperimentEvent.TrialFailed((int)trial.Id, candidate.Name, inner.Message));
                return null;
            }
            catch (Exception e) when (Unwrap(e) is OperationCanceledException)
            {
                store.Fail(trial.Id, "cancelled", Used());
                throw;
            }
        }
        // Recorded outside the loop's handlers: the trial is finished, so nothing after this may mark it failed. The note
        // goes first: a completed trial takes no more notes.
        if (outcome.StoppedByLimit && outcome.Epochs is { Count: > 0 } epochs)
            store.AddRetry(trial.Id, $"stopped by the time budget after epoch {epochs.Count} of {epochs[0].Epochs}: the best validated epoch's model is its result");
        store.Complete(trial.Id, outcome.ValidationMetric, Used());
        o.Events?.Report(new ExperimentEvent.TrialCompleted((int)trial.Id, candidate.Name, outcome.ValidationMetric, sw.Elapsed.TotalSeconds));
        return outcome;
    }

    /// <summary>ML.NET wraps trainer exceptions (e.g. in TargetInvocationException or InvalidOperationException); look inside.</summary>
    private static Exception Unwrap(Exception e)
    {
        while ((e is System.Reflection.TargetInvocationException || e is AggregateException) && e.InnerException is not null) e = e.InnerException;
        return e;
    }

    /// <summary>A CUDA (or CPU allocator) out-of-memory error, as libtorch words it.</summary>
    public static bool IsOutOfMemory(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
            if (x is OutOfMemoryException || x.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }
}
