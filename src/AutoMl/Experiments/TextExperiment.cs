using System.Diagnostics;
using Microsoft.ML;
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
        var tuners = candidates.ToDictionary(c => c.Name, c => CreateTuner(o.Tuner, c.Space, o.Seed, o.GridStepsPerDimension));

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

        // One ASHA per candidate and epoch budget: the learning rate decays over the planned epochs, so epoch 1 of a
        // 3-epoch trial is not comparable with the last epoch of a 1-epoch trial (pruning across them stops longer
        // schedules for being behind where they were never meant to be yet).
        var pruners = new Dictionary<string, IPruner>();
        IPruner PrunerFor(string candidate, ParameterSet p)
        {
            if (!o.Pruning || candidates.First(c => c.Name == candidate).IsClassical) return NoPruner.Instance;
            string key = p.ContainsKey(ParameterNames.Epochs) ? $"{candidate}|{p.GetInt(ParameterNames.Epochs)}" : candidate;
            return pruners.TryGetValue(key, out var pruner) ? pruner : pruners[key] = new AshaPruner();
        }
        var chooser = new CandidateChooser(o.Seed);
        var absorbed = new HashSet<long>();
        var models = new TrialModelFiles(outputDir);
        double bestSaved = double.NegativeInfinity; // best validation metric among the trial models in the output folder

        // Learns from finished trials this worker has not seen yet: its own, those of an earlier run (resume) and those
        // of other workers on the same store (join). Tuners, pruners and the candidate chooser learn from all of them.
        void Absorb(IEnumerable<TrialRecord> records)
        {
            foreach (var t in records.Where(t => t.Status is TrialStatus.Completed or TrialStatus.Pruned or TrialStatus.Failed))
            {
                if (!absorbed.Add(t.Id)) continue;
                string cand = t.Parameters.GetString(CandidateKey);
                if (!tuners.TryGetValue(cand, out var tuner)) continue;
                tuner.Report(t.ToResult() with { Parameters = Strip(t.Parameters) });
                foreach (var e in t.Epochs) PrunerFor(cand, t.Parameters).Record(t.Id, e.Epoch, e.Metric);
                chooser.Record(cand, t.DurationSeconds ?? 0, t.Status == TrialStatus.Completed ? t.Metric ?? double.NaN : double.NaN);
                if (t.Status == TrialStatus.Completed && t.Metric is { } m && models.Has(t.Id)) bestSaved = Math.Max(bestSaved, m);
            }
        }
        Absorb(existing);

        string worker = $"{Environment.MachineName}-{Environment.ProcessId}";
        var exhausted = new HashSet<string>();
        var lastError = new Dictionary<string, string>();
        var retired = new Dictionary<string, string>();
        var deadline = DateTime.UtcNow + o.TrainTime;
        int started = 0;
        var duplicates = new Dictionary<string, int>();
        long? mySaved = null;
        var firstRound = new Queue<Candidate>(candidates.Where(c => !existing.Any(t => t.Parameters.GetString(CandidateKey) == c.Name)));

        while (!o.CancellationToken.IsCancellationRequested && DateTime.UtcNow < deadline && (o.MaxTrials is not { } max || started < max))
        {
            var known = store.ListTrials(o.ExperimentName);
            Absorb(known);
            TrialRecord? trial = store.ClaimNext(o.ExperimentName, worker);
            Candidate? candidate;
            if (trial is not null)
            {
                candidate = candidates.FirstOrDefault(c => c.Name == trial.Parameters.GetString(CandidateKey));
                if (candidate is null) { store.Fail(trial.Id, "candidate not part of this run"); continue; }
            }
            else
            {
                while (firstRound.TryPeek(out var next) && known.Any(t => t.Parameters.GetString(CandidateKey) == next.Name))
                    firstRound.Dequeue(); // another worker has started it meanwhile
                if (firstRound.Count > 0) candidate = firstRound.Dequeue();
                else
                {
                    string? name = chooser.Choose(candidates.Select(c => c.Name).Where(n => !exhausted.Contains(n)).ToList());
                    candidate = candidates.FirstOrDefault(c => c.Name == name);
                }
                if (candidate is null) break; // every tuner has run out of points
                var p = tuners[candidate.Name].Propose();
                if (p is null) { exhausted.Add(candidate.Name); continue; }
                if (store.AddTrialIfNew(o.ExperimentName, p.With(CandidateKey, candidate.Name)) is not { } id)
                {
                    // Another worker has (or had) this point: its result reaches the tuner through Absorb. A tuner
                    // that keeps proposing known points has nothing new left.
                    if ((duplicates[candidate.Name] = duplicates.GetValueOrDefault(candidate.Name) + 1) >= 50) exhausted.Add(candidate.Name);
                    continue;
                }
                duplicates[candidate.Name] = 0;
                if (!store.TryStart(id, worker)) continue;
                trial = store.GetTrial(id)!;
            }
            started++;
            var outcome = TrialRunner.Run(ml, o, search, store, trial, candidate, PrunerFor(candidate.Name, trial.Parameters), deadline, precisions[candidate.Name]);
            // A candidate whose trials fail twice in a row with the same error (bad data for it, a missing file) is
            // retired: the rest of the budget goes to the candidates that work.
            if (outcome is null && store.GetTrial(trial.Id) is { Status: TrialStatus.Failed, Error: { } error } && !error.StartsWith("stopped:", StringComparison.Ordinal))
            {
                if (lastError.TryGetValue(candidate.Name, out var previous) && previous == error) retired[candidate.Name] = error;
                lastError[candidate.Name] = error;
            }
            else lastError.Remove(candidate.Name);
            if (retired.ContainsKey(candidate.Name)) exhausted.Add(candidate.Name);
            if (candidates.All(c => retired.ContainsKey(c.Name))) break;
            if (outcome is not null && outcome.ValidationMetric > bestSaved)
            {
                // Read by any worker sharing the output folder. The trial itself reaches this worker's tuners through
                // the next round's Absorb, like everyone else's.
                models.Save(ml, outcome.Model, search.TrainView(ml).Schema, trial.Id);
                if (mySaved is { } previous) models.Delete(previous); // beaten: no worker will pick it
                mySaved = trial.Id;
                bestSaved = outcome.ValidationMetric;
                o.Events?.Report(new ExperimentEvent.NewBest((int)trial.Id, candidate.Name, outcome.ValidationMetric));
            }
        }

        // Interrupted (Ctrl+C, SIGTERM): the finished trials are in the store; no outputs are written, so a resume
        // (or --max-trials 0) gives the outputs of the whole experiment.
        o.CancellationToken.ThrowIfCancellationRequested();

        var trials = store.ListTrials(o.ExperimentName);
        var best = models.LoadBest(ml, trials.Where(t => candidates.Any(c => c.Name == t.Parameters.GetString(CandidateKey))));
        if (best is null && retired.Count == candidates.Count)
            throw new InvalidOperationException(
                $"Every candidate failed twice in a row with the same error, so none was tried further: {string.Join("; ", retired.Select(kv => $"{kv.Key}: {kv.Value}"))}");
        if (best is null)
        {
            // Name the limit that ended the search: the trial count, or else the time.
            string more = o.MaxTrials is { } limit && started >= limit ? $"ExperimentOptions.MaxTrials (this run started {started})" : "ExperimentOptions.TrainTime";
            throw new InvalidOperationException($"No trial completed ({trials.Count} tried: {string.Join("; ", trials.Where(t => t.Error is not null).Select(t => $"#{t.Id} {t.Error}").Take(3))}). Give more {more}.");
        }
        var (bestTrial, bestModel) = best.Value;
        return ExperimentEvaluation.Evaluate(ml, o, job, fit.Count, candidates, trials, bestTrial, bestModel, metricName, search.TrainView(ml).Schema, total);
    }

    internal static ParameterSet Strip(ParameterSet p) => new(p.Where(kv => kv.Key != CandidateKey));
}
