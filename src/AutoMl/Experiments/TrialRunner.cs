using System.Diagnostics;
using Microsoft.ML;
using MlNetLlm.Estimators.Jobs;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>
/// Runs one trial of a candidate and records how it ended: completed, pruned by ASHA after an epoch, stopped by the
/// time budget, failed, or retried once at half the batch size after running out of memory. Cancellation (Ctrl+C)
/// marks the trial and is passed on.
/// </summary>
internal static class TrialRunner
{
    public static TrialOutcome? Run(MLContext ml, ExperimentOptions o, TextJobData data, ITrialStore store, TrialRecord trial, Candidate candidate,
        IPruner pruner, DateTime deadline, string? precision)
    {
        var parameters = TextExperiment.Strip(trial.Parameters);
        o.Events?.Report(new ExperimentEvent.TrialStarted((int)trial.Id, candidate.Name, parameters));
        var sw = Stopwatch.StartNew();
        using var memory = new PeakMemorySampler(o.Device);
        TrialResources Used() => memory.Resources(sw) with { Precision = precision };
        using var heartbeat = new Timer(_ =>
        {
            try { store.Heartbeat(trial.Id); }
            catch (TrialStoreException) { } // the trial ended meanwhile, or the store is briefly unreachable: the next beat tries again
        }, null, o.HeartbeatInterval, o.HeartbeatInterval);
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(o.CancellationToken);
        var remaining = deadline - DateTime.UtcNow;
        budget.CancelAfter(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
        bool retried = false;
        while (true)
        {
            try
            {
                var outcome = candidate.Run(ml, data, parameters, o.Device, e =>
                {
                    double metric = e.ValidationMetric ?? double.NaN;
                    store.ReportEpoch(trial.Id, new EpochMetric(e.Epoch, metric, e.TrainLoss, e.Seconds));
                    o.Events?.Report(new ExperimentEvent.EpochEnded((int)trial.Id, candidate.Name, e.Epoch, metric));
                    if (e.Epoch < e.Epochs && pruner.ShouldPrune(trial.Id, e.Epoch, metric))
                        throw new TrialPrunedException(e.Epoch, metric);
                }, budget.Token);
                store.Complete(trial.Id, outcome.ValidationMetric, Used());
                o.Events?.Report(new ExperimentEvent.TrialCompleted((int)trial.Id, candidate.Name, outcome.ValidationMetric, sw.Elapsed.TotalSeconds));
                return outcome;
            }
            catch (Exception e) when (Unwrap(e) is TrialPrunedException p)
            {
                store.Prune(trial.Id, p.Metric, Used());
                o.Events?.Report(new ExperimentEvent.TrialPruned((int)trial.Id, candidate.Name, p.Epochs, "asha"));
                return null;
            }
            catch (Exception e) when (Unwrap(e) is OperationCanceledException && !o.CancellationToken.IsCancellationRequested)
            {
                // The time budget ran out inside the trial: it stops where it is, recorded with the epochs it reached.
                var reached = store.GetTrial(trial.Id)!;
                if (reached.Epochs.Count > 0) store.Prune(trial.Id, null, Used());
                else store.Fail(trial.Id, "stopped: the time budget ran out before its first epoch", Used());
                o.Events?.Report(new ExperimentEvent.TrialPruned((int)trial.Id, candidate.Name, reached.EpochsReached, "time budget"));
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
