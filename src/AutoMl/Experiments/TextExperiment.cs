using System.Diagnostics;
using Microsoft.ML;
using MlNetLlm.AutoMl.Selection;
using MlNetLlm.Estimators.Jobs;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>
/// A Model Builder style experiment over text: classical ML.NET pipelines, embeddings + LightGbm, LSTM (with GloVe),
/// a from-scratch transformer and checkpoint fine-tuning, each with its own tuner, under one time budget, with ASHA
/// pruning of neural trials and every trial written to the store as it happens. Picks the best on the validation
/// metric (never the test rows), then reports the test metrics of that one model.
/// </summary>
public static class TextExperiment
{
    public const string CandidateKey = "Candidate";

    /// <summary>The SQLite trial store in the output folder when <see cref="ExperimentOptions.Store"/> is not given.</summary>
    public const string DefaultStoreFile = "experiment.db";

    /// <summary>
    /// The candidates that apply, in the order of the first round (each gets one trial before the cost-based choice
    /// starts): the two cheap linear baselines, then the pretrained checkpoint's candidates (where a short budget is
    /// best spent), then the rest.
    /// </summary>
    public static IReadOnlyList<Candidate> DefaultCandidates(ExperimentOptions o)
    {
        var list = new List<Candidate> { ClassicalCandidate.Sdca(), ClassicalCandidate.Lbfgs() };
        if (o.CheckpointPath is not null)
        {
            list.Add(NeuralCandidate.FineTune(o.CheckpointPath, o.Precision));
            if (o.TextColumns.Count == 1)
            {
                var embeddings = new SharedEmbeddings(o.CheckpointPath, precision: o.Precision);
                list.Add(EmbeddingCandidate.Sdca(embeddings));
                list.Add(EmbeddingCandidate.LightGbm(embeddings));
            }
        }
        list.Add(ClassicalCandidate.LightGbm());
        list.Add(NeuralCandidate.Lstm(null, o.Precision));
        if (o.GlovePath is not null) list.Add(NeuralCandidate.Lstm(o.GlovePath, o.Precision));
        list.Add(NeuralCandidate.Transformer(o.Precision));
        if (o.Candidates is { } names)
        {
            var unknown = names.Where(n => list.All(c => c.Name != n)).ToList();
            if (unknown.Count > 0)
                throw new ArgumentException($"Unknown candidate(s) {string.Join(", ", unknown)}; available here: {string.Join(", ", list.Select(c => c.Name))}.");
            list = list.Where(c => names.Contains(c.Name)).ToList();
        }
        return list;
    }

    public static ITuner CreateTuner(string name, SearchSpace space, int seed, int gridSteps = 5) => name switch
    {
        "cfo" => new CfoTuner(space, seed),
        "random" => new RandomSearchTuner(space, seed),
        "grid" => new GridSearchTuner(space, gridSteps, seed: seed),
        "tpe" => new TpeTuner(space, seed),
        _ => throw new ArgumentException($"ExperimentOptions.Tuner '{name}' is not one of cfo, random, grid, tpe."),
    };

    public static ExperimentResult Run(MLContext ml, ExperimentOptions o, string outputDir, IReadOnlyList<Candidate>? candidates = null)
    {
        var total = Stopwatch.StartNew();
        using var log = new MlNetLlm.MlNet.ComponentLog(MlNetLlm.MlNet.ComponentLog.EnvironmentOf(ml), "TextExperiment", "Search", o.Logger);
        o = o with { Events = new ExperimentLog(log, o.Events, o.TrainTime) };
        // Options, the files they name and the data are checked before anything on disk changes (no folder, no store
        // row, nothing moved aside).
        candidates ??= DefaultCandidates(o);
        o.Validate(candidates);
        foreach (var (name, path) in new[] { (nameof(o.Dataset), o.Dataset), (nameof(o.TestDataset), o.TestDataset), (nameof(o.GlovePath), o.GlovePath) })
            if (path is not null && ExperimentOutputs.IsOwnOutputPath(outputDir, path))
                throw new ArgumentException($"ExperimentOptions.{name} '{path}' is a file the experiment writes in its output folder: move it, or give another output folder.");
        // Each trial records its precision; a precision a candidate cannot run in (Bf16 for the LSTM) is refused here,
        // before the store or any output exists.
        var precisions = candidates.ToDictionary(c => c.Name, c => c.ResolvePrecision(o.Device));
        var job = TextJobData.Load(new TextJobOptions
        {
            Dataset = o.Dataset, Separator = o.Separator, LabelColumn = o.LabelColumn, TextColumns = o.TextColumns, TestDataset = o.TestDataset, SplitColumn = o.SplitColumn,
            TestFraction = o.TestFraction, Task = o.Task, MaxClasses = o.MaxClasses, Seed = o.Seed,
        });
        var (fit, validation) = job.SplitTrain(o.ValidationFraction, o.Seed);
        var search = job.WithRows(fit, validation);
        string metricName = Candidate.MetricName(job.Task);
        foreach (var c in candidates) CreateTuner(o.Tuner, c.Space, o.Seed, o.GridStepsPerDimension); // an unknown tuner is refused before the store exists

        Directory.CreateDirectory(outputDir);
        // One run per output folder at a time (workers that --join share it), taken before anything in it is moved.
        using var folderLock = ExperimentOutputs.LockFolder(outputDir, shared: o.Join);
        if (o.MoveEarlierRunAside && ExperimentOutputs.MoveEarlierRunAside(outputDir) is { } aside)
            o.Events?.Report(new ExperimentEvent.EarlierRunMovedAside(aside));
        using var store = TrialStore.Open(o.Store ?? Path.Combine(outputDir, DefaultStoreFile));
        string runId = Guid.NewGuid().ToString("N");
        var settings = ExperimentIdentity.Settings(o, candidates.Select(c => c.Name), runId);
        var recorded = store.CreateExperiment(o.ExperimentName, settings);
        // Created by another run (earlier, or at the same moment on a shared store): continued only when asked to.
        if (!o.Resume && !o.Join && ExperimentIdentity.RunId(recorded.SettingsJson) != runId)
            throw new InvalidOperationException($"Experiment '{o.ExperimentName}' in {store.Description} already exists (started {recorded.CreatedAt:u}, {store.ListTrials(o.ExperimentName).Count} trials): set ExperimentOptions.Resume to continue it, ExperimentOptions.Join to work on it next to its running workers, or use another ExperimentOptions.ExperimentName, ExperimentOptions.Store or output folder.");
        if ((o.Resume || o.Join) && ExperimentIdentity.Differences(recorded.SettingsJson, settings) is { Count: > 0 } diff)
            throw new InvalidOperationException($"Experiment '{o.ExperimentName}' in {store.Description} was started with other settings ({string.Join("; ", diff)}): use the same, or another ExperimentOptions.ExperimentName.");
        var existing = store.ListTrials(o.ExperimentName);
        // Alone, a resumed run requeues every trial left running. Next to other workers (--join) only those whose
        // worker has stopped beating: trials send a heartbeat every HeartbeatInterval while they run.
        if (o.Resume) store.Resume(o.ExperimentName, staleAfter: o.Join ? o.StaleAfter : null);

        var scheduler = new TrialScheduler(o, candidates, fit.Count, validation.Count, existing);
        var models = new TrialModelFiles(outputDir);
        string worker = $"{Environment.MachineName}-{Environment.ProcessId}";
        var deadline = DateTime.UtcNow + o.TrainTime;
        double best = existing.Where(t => t.Status == TrialStatus.Completed && t.Metric is not null).Select(t => t.Metric!.Value).DefaultIfEmpty(double.NegativeInfinity).Max();
        int started = 0;

        // The loop: learn from what finished, take the next trial (a requeued one first), run it, keep its model.
        while (!o.CancellationToken.IsCancellationRequested && DateTime.UtcNow < deadline && (o.MaxTrials is not { } max || started < max) && !scheduler.AllRetired)
        {
            var known = store.ListTrials(o.ExperimentName);
            scheduler.Absorb(known);
            if (NextTrial(o, store, scheduler, candidates, known, worker, (deadline - DateTime.UtcNow).TotalSeconds) is not { } next)
                break; // nothing left that fits in the time left, or every tuner has run out of points
            var (trial, candidate) = next;
            started++;
            var outcome = TrialRunner.Run(ml, o, search, store, trial, candidate, scheduler.PrunerFor(candidate.Name, trial.Parameters), deadline,
                precisions[candidate.Name], scheduler.Costs);
            scheduler.Ended(candidate.Name, store.GetTrial(trial.Id));
            // Each worker keeps its best trial of each candidate (for the final pick), read by any worker sharing the folder.
            if (outcome is not null && models.Keep(ml, candidate.Name, outcome, search.TrainView(ml).Schema, trial.Id) && outcome.ValidationMetric > best)
            {
                best = outcome.ValidationMetric;
                o.Events?.Report(new ExperimentEvent.NewBest((int)trial.Id, candidate.Name, outcome.ValidationMetric));
            }
        }

        // Interrupted (Ctrl+C, SIGTERM): the finished trials are in the store; no outputs are written, so a resume
        // (or --max-trials 0) gives the outputs of the whole experiment.
        o.CancellationToken.ThrowIfCancellationRequested();

        var trials = store.ListTrials(o.ExperimentName);
        var contenders = models.BestPerCandidate(trials).Where(x => candidates.Any(c => c.Name == x.Trial.Parameters.GetString(CandidateKey)))
            .Select(x => new ModelPick.Contender(x.Trial.Id, x.Trial.Parameters.GetString(CandidateKey), x.Trial.Metric!.Value,
                candidates.First(c => c.Name == x.Trial.Parameters.GetString(CandidateKey)).ScoringCost, x.Scores)).ToList();
        if (contenders.Count == 0 && scheduler.AllRetired)
            throw new InvalidOperationException(
                $"Every candidate failed twice in a row with the same error, so none was tried further: {string.Join("; ", scheduler.Retired.Select(kv => $"{kv.Key}: {kv.Value}"))}");
        if (contenders.Count == 0)
        {
            // Name the limit that ended the search: the trial count, or else the time.
            string more = o.MaxTrials is { } limit && started >= limit ? $"ExperimentOptions.MaxTrials (this run started {started})" : "ExperimentOptions.TrainTime";
            throw new InvalidOperationException($"No trial completed ({trials.Count} tried: {string.Join("; ", trials.Where(t => t.Error is not null).Select(t => $"#{t.Id} {t.Error}").Take(3))}). Give more {more}.");
        }
        var pick = ModelPick.Choose(contenders, o.Seed);
        var chosen = trials.First(t => t.Id == pick.ChosenTrial);
        return ExperimentEvaluation.Evaluate(ml, o, job, fit.Count, candidates, trials, chosen, models.Load(ml, chosen.Id), metricName, search.TrainView(ml).Schema, total,
            pick, deadline);
    }

    /// <summary>The next trial for this worker, claimed: one requeued in the store (a dead worker's), else the scheduler's
    /// choice, added to the store unless another worker has the same point. Null when there is none now.</summary>
    private static (TrialRecord Trial, Candidate Candidate)? NextTrial(ExperimentOptions o, ITrialStore store, TrialScheduler scheduler, IReadOnlyList<Candidate> candidates,
        IReadOnlyList<TrialRecord> known, string worker, double remainingSeconds)
    {
        if (store.ClaimNext(o.ExperimentName, worker) is { } claimed)
        {
            if (candidates.FirstOrDefault(c => c.Name == claimed.Parameters.GetString(CandidateKey)) is { } c) return (claimed, c);
            store.Fail(claimed.Id, "candidate not part of this run");
            return null;
        }
        for (int attempt = 0; attempt < 200; attempt++)
        {
            if (scheduler.Next(known, remainingSeconds) is not { } plan) return null;
            if (store.AddTrialIfNew(o.ExperimentName, plan.Parameters) is not { } id)
            {
                // Another worker has (or had) this point: its result reaches the tuner through Absorb.
                scheduler.Duplicate(plan.Candidate.Name);
                continue;
            }
            if (store.TryStart(id, worker)) return (store.GetTrial(id)!, plan.Candidate);
        }
        return null;
    }

    /// <summary>A stored trial's parameters without the candidate's name (the share of rows stays: it is the trial's fidelity).</summary>
    internal static ParameterSet Strip(ParameterSet p) => new(p.Where(kv => kv.Key != CandidateKey));
}
