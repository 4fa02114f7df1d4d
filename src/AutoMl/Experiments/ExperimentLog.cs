using System.Diagnostics;
using MlNetLlm.MlNet;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>
/// An experiment's events as log lines (to <c>MLContext.Log</c> and <see cref="ExperimentOptions.Logger"/>), each with
/// the budget used, the time left and the best trial so far, before they go on to the caller's
/// <see cref="ExperimentOptions.Events"/>.
/// </summary>
internal sealed class ExperimentLog(ComponentLog log, IProgress<ExperimentEvent>? inner, TimeSpan budget) : IProgress<ExperimentEvent>
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private (int Trial, string Candidate, double Metric)? _best;

    public void Report(ExperimentEvent e)
    {
        if (e is ExperimentEvent.NewBest b) _best = (b.TrialId, b.Candidate, b.Metric);
        string? line = e switch
        {
            ExperimentEvent.TrialStarted s => $"trial {s.TrialId} {s.Candidate} started: {s.Parameters}",
            ExperimentEvent.TrialCompleted c => $"trial {c.TrialId} {c.Candidate} completed: {c.Metric:F4} in {c.Seconds:F1} s",
            ExperimentEvent.TrialPruned p => $"trial {p.TrialId} {p.Candidate} pruned after {p.Epochs} epochs ({p.Why})",
            ExperimentEvent.TrialFailed f => $"trial {f.TrialId} {f.Candidate} failed: {f.Error}",
            ExperimentEvent.TrialStopped st => $"trial {st.TrialId} {st.Candidate} stopped (budget): {st.Why}",
            ExperimentEvent.NewBest n => $"trial {n.TrialId} {n.Candidate} is the best so far: {n.Metric:F4}",
            _ => null, // epochs: the trial's own trainer logs them
        };
        if (line is not null)
        {
            if (e is ExperimentEvent.TrialFailed) log.Warning($"{line}; {Status()}");
            else log.Info($"{line}; {Status()}");
        }
        inner?.Report(e);
    }

    /// <summary>"budget 120 of 360 s used, 240 s left, best: trial 3 fine-tune 0.8250".</summary>
    public string Status()
    {
        double used = _clock.Elapsed.TotalSeconds, left = Math.Max(0, budget.TotalSeconds - used);
        return $"budget {used:F0} of {budget.TotalSeconds:F0} s used, {left:F0} s left, best: {(_best is { } b ? $"trial {b.Trial} {b.Candidate} {b.Metric:F4}" : "none yet")}";
    }
}
