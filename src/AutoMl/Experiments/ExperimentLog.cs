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
        string? line = e.Describe();
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
