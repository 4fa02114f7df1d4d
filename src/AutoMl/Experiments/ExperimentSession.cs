using Microsoft.ML;
using MlNetLlm.AutoMl.Selection;
using MlNetLlm.Estimators.Jobs;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>
/// One worker's run of an experiment, once its options and data are checked: the output folder (locked), the store, the
/// scheduler, the kept trial models and the deadline. <see cref="TextExperiment.Run"/> drives it: next trial, run,
/// record, then the pick.
/// </summary>
internal sealed class ExperimentSession : IDisposable
{
    private readonly MLContext _ml;
    private readonly ExperimentOptions _o;
    private readonly IReadOnlyList<Candidate> _candidates;
    private readonly TextJobData _search;
    private readonly Dictionary<string, string?> _precisions;
    private readonly IDisposable _folderLock;
    private readonly ITrialStore _store;
    private readonly TrialScheduler _scheduler;
    private readonly TrialModelFiles _models;
    private readonly string _worker = $"{Environment.MachineName}-{Environment.ProcessId}";
    private double _best;
    private int _started;

    public DateTime Deadline { get; }
    public DataViewSchema InputSchema { get; }

    private ExperimentSession(MLContext ml, ExperimentOptions o, string outputDir, IReadOnlyList<Candidate> candidates, TextJobData search,
        Dictionary<string, string?> precisions, IDisposable folderLock, ITrialStore store, IReadOnlyList<TrialRecord> existing)
    {
        (_ml, _o, _candidates, _search, _precisions, _folderLock, _store) = (ml, o, candidates, search, precisions, folderLock, store);
        _scheduler = new TrialScheduler(o, candidates, search.Train.Count, search.Test.Count, existing);
        _models = new TrialModelFiles(outputDir);
        Deadline = DateTime.UtcNow + o.TrainTime;
        InputSchema = search.TrainView(ml).Schema;
        _best = existing.Where(t => t.Status == TrialStatus.Completed && t.Metric is not null).Select(t => t.Metric!.Value).DefaultIfEmpty(double.NegativeInfinity).Max();
    }

    /// <summary>Creates the output folder, locks it, moves an earlier run aside when asked, and opens (or joins, or
    /// resumes) the experiment in its store. <paramref name="search"/> holds the fit rows as training and the validation
    /// rows as test rows.</summary>
    public static ExperimentSession Open(MLContext ml, ExperimentOptions o, string outputDir, IReadOnlyList<Candidate> candidates, TextJobData search,
        Dictionary<string, string?> precisions)
    {
        Directory.CreateDirectory(outputDir);
        // One run per output folder at a time (workers that --join share it), taken before anything in it is moved.
        var folderLock = ExperimentOutputs.LockFolder(outputDir, shared: o.Join);
        ITrialStore? store = null;
        try
        {
            if (o.MoveEarlierRunAside && ExperimentOutputs.MoveEarlierRunAside(outputDir) is { } aside)
                o.Events?.Report(new ExperimentEvent.EarlierRunMovedAside(aside));
            store = TrialStore.Open(o.Store ?? Path.Combine(outputDir, TextExperiment.DefaultStoreFile));
            string runId = Guid.NewGuid().ToString("N");
            var settings = ExperimentIdentity.Settings(o, candidates.Select(c => c.Name), runId);
            var recorded = store.CreateExperiment(o.ExperimentName, settings);
            // Created by another run (earlier, or at the same moment on a shared store): continued only when asked to.
            if (!o.Resume && !o.Join && ExperimentIdentity.RunId(recorded.SettingsJson) != runId)
                throw new InvalidOperationException($"Experiment '{o.ExperimentName}' in {store.Description} already exists (started {recorded.CreatedAt:u}, {store.ListTrials(o.ExperimentName).Count} trials): set ExperimentOptions.Resume to continue it, ExperimentOptions.Join to work on it next to its running workers, or use another ExperimentOptions.ExperimentName, ExperimentOptions.Store or output folder.");
            if ((o.Resume || o.Join) && ExperimentIdentity.Differences(recorded.SettingsJson, settings) is { Count: > 0 } diff)
                throw new InvalidOperationException($"Experiment '{o.ExperimentName}' in {store.Description} was started with other settings ({string.Join("; ", diff)}): use the same, or another ExperimentOptions.ExperimentName.");
            var existing = store.ListTrials(o.ExperimentName); // as recorded: the scheduler learns from it before any requeue
            // Alone, a resumed run requeues every trial left running. Next to other workers (--join) only those whose
            // worker has stopped beating: trials send a heartbeat every HeartbeatInterval while they run.
            if (o.Resume) store.Resume(o.ExperimentName, staleAfter: o.Join ? o.StaleAfter : null);
            return new ExperimentSession(ml, o, outputDir, candidates, search, precisions, folderLock, store, existing);
        }
        catch
        {
            store?.Dispose();
            folderLock.Dispose();
            throw;
        }
    }

    /// <summary>The next trial for this worker, claimed: one requeued in the store (a dead worker's), else the scheduler's
    /// choice, added to the store unless another worker has the same point. Null when the budget, the trial count or
    /// the candidates are spent, or nothing left fits in the time left.</summary>
    public (TrialRecord Trial, Candidate Candidate)? NextTrial()
    {
        if (_o.CancellationToken.IsCancellationRequested || DateTime.UtcNow >= Deadline || _o.MaxTrials is { } max && _started >= max || _scheduler.AllRetired)
            return null;
        var known = _store.ListTrials(_o.ExperimentName);
        _scheduler.Absorb(known);
        if (_store.ClaimNext(_o.ExperimentName, _worker) is { } claimed)
        {
            if (_candidates.FirstOrDefault(c => c.Name == claimed.Parameters.GetString(TextExperiment.CandidateKey)) is { } c) return Started(claimed, c);
            _store.Fail(claimed.Id, "candidate not part of this run");
            return null;
        }
        for (int attempt = 0; attempt < 200; attempt++)
        {
            if (_scheduler.Next(known, (Deadline - DateTime.UtcNow).TotalSeconds) is not { } plan) return null;
            if (_store.AddTrialIfNew(_o.ExperimentName, plan.Parameters) is not { } id)
            {
                // Another worker has (or had) this point: its result reaches the tuner through Absorb.
                _scheduler.Duplicate(plan.Candidate.Name);
                continue;
            }
            if (_store.TryStart(id, _worker)) return Started(_store.GetTrial(id)!, plan.Candidate);
        }
        return null;
    }

    private (TrialRecord, Candidate) Started(TrialRecord trial, Candidate candidate)
    {
        _started++;
        return (trial, candidate);
    }

    /// <summary>Runs the trial, records it, and keeps its model when it is this worker's best of its candidate (for the
    /// final pick; any worker sharing the folder reads it).</summary>
    public void Run(TrialRecord trial, Candidate candidate)
    {
        var outcome = TrialRunner.Run(_ml, _o, _search, _store, trial, candidate, _scheduler.PrunerFor(candidate.Name, trial.Parameters), Deadline,
            _precisions[candidate.Name], _scheduler.Costs);
        _scheduler.Ended(candidate.Name, _store.GetTrial(trial.Id));
        if (outcome is not null && _models.Keep(_ml, candidate.Name, outcome, InputSchema, trial.Id) && outcome.ValidationMetric > _best)
        {
            _best = outcome.ValidationMetric;
            _o.Events?.Report(new ExperimentEvent.NewBest((int)trial.Id, candidate.Name, outcome.ValidationMetric));
        }
    }

    /// <summary>Every trial of the experiment (all workers), the chosen one and how it was chosen: the best trial of each
    /// candidate whose model this folder holds, corrected for the number of its candidate's trials and judged against the
    /// validation noise (see <see cref="ModelPick"/>).</summary>
    public (IReadOnlyList<TrialRecord> Trials, TrialRecord Chosen, ITransformer Model, ModelPick Pick) Pick()
    {
        var trials = _store.ListTrials(_o.ExperimentName);
        string NameOf(TrialRecord t) => t.Parameters.GetString(TextExperiment.CandidateKey);
        var scores = _models.ScoresPerCandidate(trials);
        double Optimism(string candidate) => scores.TryGetValue(candidate, out var all) ? SelectionOptimism.Estimate(all, _o.Data.Seed) : 0;
        var contenders = _models.BestPerCandidate(trials).Where(x => _candidates.Any(c => c.Name == NameOf(x.Trial)))
            .Select(x => new ModelPick.Contender(x.Trial.Id, NameOf(x.Trial), x.Trial.Metric!.Value, _candidates.First(c => c.Name == NameOf(x.Trial)).ScoringCost, x.Scores,
                Optimism(NameOf(x.Trial))))
            .ToList();
        if (contenders.Count == 0 && _scheduler.AllRetired)
            throw new InvalidOperationException(
                $"Every candidate failed twice in a row with the same error, so none was tried further: {string.Join("; ", _scheduler.Retired.Select(kv => $"{kv.Key}: {kv.Value}"))}");
        if (contenders.Count == 0)
        {
            // Name the limit that ended the search: the trial count, or else the time.
            string more = _o.MaxTrials is { } limit && _started >= limit ? $"ExperimentOptions.MaxTrials (this run started {_started})" : "ExperimentOptions.TrainTime";
            throw new InvalidOperationException($"No trial completed ({trials.Count} tried: {string.Join("; ", trials.Where(t => t.Error is not null).Select(t => $"#{t.Id} {t.Error}").Take(3))}). Give more {more}.");
        }
        var pick = ModelPick.Choose(contenders, _o.Data.Seed);
        var chosen = trials.First(t => t.Id == pick.ChosenTrial);
        return (trials, chosen, _models.Load(_ml, chosen.Id), pick);
    }

    public void Dispose()
    {
        _store.Dispose();
        _folderLock.Dispose();
    }
}
