using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>What a Model Builder style text experiment tries and under which budget.</summary>
public sealed record ExperimentOptions
{
    public required string Dataset { get; init; }
    /// <summary>Field separator of the data files (null: commas, see <c>CsvTable.Load</c>).</summary>
    public char? Separator { get; init; }
    public required string LabelColumn { get; init; }
    public required IReadOnlyList<string> TextColumns { get; init; }
    public string? TestDataset { get; init; }
    public string? SplitColumn { get; init; }
    public double TestFraction { get; init; } = 0.2;
    /// <summary>Part of the training rows held out to compare trials (the test rows are never used to choose).</summary>
    public double ValidationFraction { get; init; } = 0.2;
    public string Task { get; init; } = "auto";
    public int? MaxClasses { get; init; }
    public TimeSpan TrainTime { get; init; } = TimeSpan.FromMinutes(5);
    public int? MaxTrials { get; init; }
    /// <summary>cfo (default), random, grid or tpe.</summary>
    public string Tuner { get; init; } = "cfo";
    /// <summary>Grid search: values per numeric parameter (choices always take all their values).</summary>
    public int GridStepsPerDimension { get; init; } = 5;
    /// <summary>Trial store: a SQLite file (default experiment.db in the output folder) or a PostgreSQL connection.</summary>
    public string? Store { get; init; }
    public string ExperimentName { get; init; } = "experiment";
    /// <summary>Continue the experiment recorded in the store (finished trials are kept, an unfinished one is rerun).</summary>
    public bool Resume { get; init; }
    /// <summary>Work on an experiment that other workers (processes or machines) are running on the same store at the
    /// same time: its trials are shared, each claimed by one worker; nothing is requeued. Workers that share the
    /// output folder also share trial models, so each ends with the experiment's best.</summary>
    public bool Join { get; init; }
    /// <summary>How often a running trial tells the store its worker is alive.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>With <see cref="Join"/> and <see cref="Resume"/>: a running trial whose worker has sent no heartbeat
    /// for this long is taken to be dead and is requeued.</summary>
    public TimeSpan StaleAfter { get; init; } = TimeSpan.FromMinutes(3);
    public string? CheckpointPath { get; init; }
    public string? GlovePath { get; init; }
    /// <summary>Candidate names to try (null: all that apply): tfidf+sdca, tfidf+lbfgs, tfidf+lightgbm, embeddings+sdca, embeddings+lightgbm, lstm, lstm+glove, transformer, fine-tune.</summary>
    public IReadOnlyList<string>? Candidates { get; init; }
    public bool Pruning { get; init; } = true;
    /// <summary>After the search, fit the best trial's pipeline and parameters again on all training rows (the fit and
    /// validation rows together). Runs after the time budget; the test metrics are then the refitted model's.</summary>
    public bool Refit { get; init; }
    public int Seed { get; init; } = 1;
    public DeviceOptions Device { get; init; } = new();
    public IProgress<ExperimentEvent>? Events { get; init; }
    public CancellationToken CancellationToken { get; init; }
}

/// <summary>Progress of an experiment, for live tables and logs.</summary>
public abstract record ExperimentEvent(int TrialId, string Candidate)
{
    public sealed record TrialStarted(int TrialId, string Candidate, ParameterSet Parameters) : ExperimentEvent(TrialId, Candidate);
    public sealed record EpochEnded(int TrialId, string Candidate, int Epoch, double Metric) : ExperimentEvent(TrialId, Candidate);
    public sealed record TrialCompleted(int TrialId, string Candidate, double Metric, double Seconds) : ExperimentEvent(TrialId, Candidate);
    public sealed record TrialPruned(int TrialId, string Candidate, int Epochs, string Why) : ExperimentEvent(TrialId, Candidate);
    public sealed record TrialFailed(int TrialId, string Candidate, string Error) : ExperimentEvent(TrialId, Candidate);
    public sealed record NewBest(int TrialId, string Candidate, double Metric) : ExperimentEvent(TrialId, Candidate);
}

/// <summary>What an experiment produced.</summary>
public sealed record ExperimentResult(
    ITransformer BestModel, TrialRecord BestTrial, IReadOnlyList<TrialRecord> Trials, TextJobMetrics TestMetrics,
    double[][]? ConfusionMatrix, string MetricName, double TotalSeconds, TextJobData Data, DataViewSchema InputSchema, string? BaselineCandidate,
    RefitSummary? Refit = null);

/// <summary>The best pipeline fitted again on all training rows: how many, how long, and the test metrics of the
/// search's own model of that trial (fitted on the fit rows only), to compare with.</summary>
public sealed record RefitSummary(int Rows, double Seconds, TextJobMetrics TestMetricsBeforeRefit);

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
            list.Add(NeuralCandidate.FineTune(o.CheckpointPath));
            if (o.TextColumns.Count == 1)
            {
                var embeddings = new SharedEmbeddings(o.CheckpointPath);
                list.Add(EmbeddingCandidate.Sdca(embeddings));
                list.Add(EmbeddingCandidate.LightGbm(embeddings));
            }
        }
        list.Add(ClassicalCandidate.LightGbm());
        list.Add(NeuralCandidate.Lstm(null));
        if (o.GlovePath is not null) list.Add(NeuralCandidate.Lstm(o.GlovePath));
        list.Add(NeuralCandidate.Transformer());
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
        Directory.CreateDirectory(outputDir);
        candidates ??= DefaultCandidates(o);
        if (candidates.Count == 0) throw new ArgumentException("No candidate pipelines to try.");
        if (o.ValidationFraction is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(o.ValidationFraction), o.ValidationFraction, "ValidationFraction must be between 0 and 1.");
        var job = TextJobData.Load(new TextJobOptions
        {
            Dataset = o.Dataset, Separator = o.Separator, LabelColumn = o.LabelColumn, TextColumns = o.TextColumns, TestDataset = o.TestDataset, SplitColumn = o.SplitColumn,
            TestFraction = o.TestFraction, Task = o.Task, MaxClasses = o.MaxClasses, Seed = o.Seed,
        });
        var (fit, validation) = job.SplitTrain(o.ValidationFraction, o.Seed);
        var search = job.WithRows(fit, validation);
        string metricName = Candidate.MetricName(job.Task);

        using var store = TrialStore.Open(o.Store ?? Path.Combine(outputDir, DefaultStoreFile));
        var settings = System.Text.Json.JsonSerializer.Serialize(new
        {
            o.Dataset, o.LabelColumn, o.TextColumns, o.Tuner, Candidates = candidates.Select(c => c.Name), TrainTimeSeconds = o.TrainTime.TotalSeconds, o.MaxTrials, o.Seed,
            DataSha256 = ContentHash(o.Dataset, o.TestDataset),
        });
        var recorded = store.CreateExperiment(o.ExperimentName, settings);
        if ((o.Resume || o.Join) && Differences(recorded.SettingsJson, settings) is { Count: > 0 } diff)
            throw new InvalidOperationException($"Experiment '{o.ExperimentName}' in {store.Description} was started with other settings ({string.Join("; ", diff)}): use the same, or another ExperimentOptions.ExperimentName.");
        var existing = store.ListTrials(o.ExperimentName);
        if (existing.Count > 0 && !o.Resume && !o.Join)
            throw new InvalidOperationException($"Experiment '{o.ExperimentName}' in {store.Description} already has {existing.Count} trials: set ExperimentOptions.Resume to continue it, ExperimentOptions.Join to work on it next to its running workers, or use another ExperimentOptions.Store or output folder.");
        // Alone, a resumed run requeues every trial left running. Next to other workers (--join) only those whose
        // worker has stopped beating: trials send a heartbeat every HeartbeatInterval while they run.
        if (o.Resume) store.Resume(o.ExperimentName, staleAfter: o.Join ? o.StaleAfter : null);

        var tuners = candidates.ToDictionary(c => c.Name, c => CreateTuner(o.Tuner, c.Space, o.Seed, o.GridStepsPerDimension));
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
        string modelDir = Path.Combine(outputDir, "trial-models");
        Directory.CreateDirectory(modelDir);
        string ModelPath(long id) => Path.Combine(modelDir, $"trial-{id}.zip");
        double bestSaved = double.NegativeInfinity; // best validation metric among the trial models in modelDir

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
                if (t.Status == TrialStatus.Completed && t.Metric is { } m && File.Exists(ModelPath(t.Id))) bestSaved = Math.Max(bestSaved, m);
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
            var outcome = RunTrial(ml, o, search, store, trial, candidate, PrunerFor(candidate.Name, trial.Parameters), deadline);
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
                ml.Model.Save(outcome.Model, search.TrainView(ml).Schema, ModelPath(trial.Id));
                if (mySaved is { } previous) File.Delete(ModelPath(previous)); // beaten: no worker will pick it
                mySaved = trial.Id;
                bestSaved = outcome.ValidationMetric;
                o.Events?.Report(new ExperimentEvent.NewBest((int)trial.Id, candidate.Name, outcome.ValidationMetric));
            }
        }

        // Interrupted (Ctrl+C, SIGTERM): the finished trials are in the store; no outputs are written, so a resume
        // (or --max-trials 0) gives the outputs of the whole experiment.
        o.CancellationToken.ThrowIfCancellationRequested();

        // The best completed trial of the experiment (any worker) whose model is in this output folder.
        var trials = store.ListTrials(o.ExperimentName);
        TrialRecord? bestTrial = null;
        ITransformer? bestModel = null;
        foreach (var t in trials.Where(t => t.Status == TrialStatus.Completed && t.Metric is not null && candidates.Any(c => c.Name == t.Parameters.GetString(CandidateKey)))
                     .OrderByDescending(t => t.Metric).ThenBy(t => t.Id))
        {
            try { bestModel = ml.Model.Load(ModelPath(t.Id), out _); }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { continue; } // not saved here, or beaten and deleted meanwhile
            bestTrial = t;
            break;
        }
        if ((bestTrial is null || bestModel is null) && retired.Count == candidates.Count)
            throw new InvalidOperationException(
                $"Every candidate failed twice in a row with the same error, so none was tried further: {string.Join("; ", retired.Select(kv => $"{kv.Key}: {kv.Value}"))}");
        if (bestTrial is null || bestModel is null)
            throw new InvalidOperationException($"No trial completed within the budget ({trials.Count} tried: {string.Join("; ", trials.Where(t => t.Error is not null).Select(t => $"#{t.Id} {t.Error}").Take(3))}). Give more ExperimentOptions.TrainTime.");
        var bestCandidate = candidates.First(c => c.Name == bestTrial.Parameters.GetString(CandidateKey));
        TextJobMetrics TestMetrics((IDataView Scored, int Unseen) test, double seconds, int rows) => TextTrainingJob.Evaluate(ml, job, test) with
        {
            Encoder = bestCandidate.Name, TrainSeconds = seconds, Rows = rows, TestRows = job.Test.Count,
        };
        RefitSummary? refit = null;
        if (o.Refit)
        {
            // job's training rows are fit + validation; its test rows stay unseen. Neural trials ran all their epochs
            // (no early stopping in the search), so the same parameters mean the same number of epochs.
            var before = TestMetrics(TextTrainingJob.ScoreTest(ml, job, bestModel), bestTrial.DurationSeconds ?? 0, fit.Count);
            var sw = Stopwatch.StartNew();
            bestModel = bestCandidate.Refit(ml, job, Strip(bestTrial.Parameters), o.Device, o.CancellationToken);
            refit = new RefitSummary(job.Train.Count, sw.Elapsed.TotalSeconds, before);
        }
        // Scored once (cached) for both the metrics and the confusion matrix: scoring is the slow part for a neural model.
        var test = TextTrainingJob.ScoreTest(ml, job, bestModel);
        test.Scored = ml.Data.Cache(test.Scored);
        var scored = test.Scored;
        var testMetrics = TestMetrics(test, refit?.Seconds ?? bestTrial.DurationSeconds ?? 0, refit?.Rows ?? fit.Count);
        double[][]? confusion = job.Task switch
        {
            TaskKind.Multiclass => ml.MulticlassClassification.Evaluate(scored).ConfusionMatrix.Counts.Select(r => r.ToArray()).ToArray(),
            TaskKind.Binary => Confusion2(ml.BinaryClassification.Evaluate(scored).ConfusionMatrix),
            _ => null,
        };
        string? baseline = trials.Where(t => t.Status == TrialStatus.Completed && candidates.Any(c => c.IsClassical && c.Name == t.Parameters.GetString(CandidateKey)))
            .MaxBy(t => t.Metric)?.Parameters.GetString(CandidateKey);
        return new ExperimentResult(bestModel, bestTrial, trials, testMetrics, confusion, metricName, total.Elapsed.TotalSeconds, job, search.TrainView(ml).Schema, baseline, refit);
    }

    // ML.NET's binary confusion matrix lists the positive class first; the report lists classes in label order.
    private static double[][] Confusion2(ConfusionMatrix cm) =>
        [[cm.Counts[1][1], cm.Counts[1][0]], [cm.Counts[0][1], cm.Counts[0][0]]];

    /// <summary>Settings that must match for a resumed or joined experiment (budgets may differ per run).</summary>
    private static List<string> Differences(string recordedJson, string currentJson)
    {
        using var recorded = System.Text.Json.JsonDocument.Parse(recordedJson);
        using var current = System.Text.Json.JsonDocument.Parse(currentJson);
        var diff = new List<string>();
        foreach (var name in new[] { "Dataset", "LabelColumn", "TextColumns", "Tuner", "Candidates", "Seed" })
        {
            string was = recorded.RootElement.TryGetProperty(name, out var r) ? r.GetRawText() : "null", now = current.RootElement.GetProperty(name).GetRawText();
            if (was != now) diff.Add($"{name} {was} then, {now} now");
        }
        // Same path, other rows: trials scored on different data must not be mixed. (Experiments recorded before the
        // hash existed have none to compare.)
        if (recorded.RootElement.TryGetProperty("DataSha256", out var h) && h.GetString() is { } then && then != current.RootElement.GetProperty("DataSha256").GetString())
            diff.Add($"the content of data file {current.RootElement.GetProperty("Dataset").GetRawText()} has changed since the experiment started (SHA-256 {then[..12]}... then, {current.RootElement.GetProperty("DataSha256").GetString()![..12]}... now)");
        return diff;
    }

    /// <summary>SHA-256 over the data file (and the test file, when given).</summary>
    private static string ContentHash(string dataset, string? testDataset)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var path in new[] { dataset, testDataset }.Where(p => p is not null && File.Exists(p)))
        {
            using var fs = File.OpenRead(path!);
            var buffer = new byte[1 << 16];
            int n;
            while ((n = fs.Read(buffer)) > 0) sha.AppendData(buffer, 0, n);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static ParameterSet Strip(ParameterSet p) => new(p.Where(kv => kv.Key != CandidateKey));

    private static TrialOutcome? RunTrial(MLContext ml, ExperimentOptions o, TextJobData data, ITrialStore store, TrialRecord trial, Candidate candidate,
        IPruner pruner, DateTime deadline)
    {
        var parameters = Strip(trial.Parameters);
        o.Events?.Report(new ExperimentEvent.TrialStarted((int)trial.Id, candidate.Name, parameters));
        var sw = Stopwatch.StartNew();
        using var memory = new PeakMemorySampler(o.Device);
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
                store.Complete(trial.Id, outcome.ValidationMetric, memory.Resources(sw));
                o.Events?.Report(new ExperimentEvent.TrialCompleted((int)trial.Id, candidate.Name, outcome.ValidationMetric, sw.Elapsed.TotalSeconds));
                return outcome;
            }
            catch (Exception e) when (Unwrap(e) is TrialPrunedException p)
            {
                store.Prune(trial.Id, p.Metric, memory.Resources(sw));
                o.Events?.Report(new ExperimentEvent.TrialPruned((int)trial.Id, candidate.Name, p.Epochs, "asha"));
                return null;
            }
            catch (Exception e) when (Unwrap(e) is OperationCanceledException && !o.CancellationToken.IsCancellationRequested)
            {
                // The time budget ran out inside the trial: it stops where it is, recorded with the epochs it reached.
                var reached = store.GetTrial(trial.Id)!;
                if (reached.Epochs.Count > 0) store.Prune(trial.Id, null, memory.Resources(sw));
                else store.Fail(trial.Id, "stopped: the time budget ran out before its first epoch", memory.Resources(sw));
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
                store.Fail(trial.Id, $"{inner.GetType().Name}: {inner.Message}", memory.Resources(sw));
                o.Events?.Report(new ExperimentEvent.TrialFailed((int)trial.Id, candidate.Name, inner.Message));
                return null;
            }
            catch (Exception e) when (Unwrap(e) is OperationCanceledException)
            {
                store.Fail(trial.Id, "cancelled", memory.Resources(sw));
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

/// <summary>Samples the process working set, and GPU memory when the trial runs on CUDA (<see cref="GpuMemory"/>),
/// every 100 ms while a trial runs, and keeps the peaks.</summary>
internal sealed class PeakMemorySampler : IDisposable
{
    private readonly Timer _timer;
    private readonly int? _cudaDevice;
    private long _peak = Environment.WorkingSet, _peakGpu = -1;

    public PeakMemorySampler(DeviceOptions device)
    {
        _cudaDevice = device.CudaDeviceIndex(); // on the CPU, NVML's numbers would be other processes' memory
        _timer = new Timer(_ => Sample(), null, 0, 100);
    }

    private void Sample()
    {
        Max(ref _peak, Environment.WorkingSet);
        if (_cudaDevice is { } d && GpuMemory.InUse(d) is { } gpu) Max(ref _peakGpu, gpu);
    }

    private static void Max(ref long peak, long now)
    {
        long seen;
        while (now > (seen = Interlocked.Read(ref peak)) && Interlocked.CompareExchange(ref peak, now, seen) != seen) { }
    }

    public TrialResources Resources(Stopwatch sw)
    {
        Sample();
        long gpu = Interlocked.Read(ref _peakGpu);
        return new TrialResources { DurationSeconds = sw.Elapsed.TotalSeconds, PeakMemoryBytes = Interlocked.Read(ref _peak), PeakGpuMemoryBytes = gpu >= 0 ? gpu : null };
    }

    public void Dispose() => _timer.Dispose();
}
