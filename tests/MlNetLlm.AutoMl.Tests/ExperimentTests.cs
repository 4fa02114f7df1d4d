using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.AutoMl;
using MlNetLlm.AutoMl.Experiments;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.AutoMl.Tests;

/// <summary>Model Builder style experiments: candidates, tuners, pruning, failures, OOM retry, resume, outputs.</summary>
public class ExperimentTests
{
    private static string TopicsCsv(Fixtures.TempDir dir, int n = 120) =>
        TextData.WriteCsv(dir.File("topics.csv"), TextData.Topics3(n, seed: 51));

    private static ExperimentOptions Options(string csv, int maxTrials, bool resume = false, IProgress<ExperimentEvent>? events = null) => new()
    {
        Data = new() { Dataset = csv, LabelColumn = "label", TextColumns = ["text"], Seed = 2 }, MaxTrials = maxTrials, TrainTime = TimeSpan.FromMinutes(3),
        Resume = resume, Events = events,
    };

    /// <summary>A candidate that behaves badly on purpose, then delegates to SDCA so a model exists.</summary>
    private sealed class ScriptedCandidate(Func<int, ParameterSet, Action<EpochReport>?, Exception?> script, SearchSpace? space = null)
        : Candidate("scripted", space ?? SearchSpaces.Lstm(), classical: false)
    {
        private readonly Candidate _inner = ClassicalCandidate.Sdca();
        public int Calls;
        public List<int> BatchSizes { get; } = [];

        public override TrialOutcome Run(MLContext ml, TextJobData data, ParameterSet p, DeviceOptions device, TrialControl control)
        {
            int call = ++Calls;
            BatchSizes.Add(p.GetInt(ParameterNames.BatchSize));
            if (script(call, p, control.OnEpoch) is { } e) throw e;
            return _inner.Run(ml, data, SearchSpaces.SdcaMaximumEntropy().Defaults(), device, null, control.Cancellation);
        }

        protected override FittedPipeline Fit(MLContext ml, TextJobData data, IDataView? validation, ParameterSet p, DeviceOptions device, TrialControl control) =>
            new(_inner.Refit(ml, data, SearchSpaces.SdcaMaximumEntropy().Defaults(), device, control.Cancellation));
    }

    private sealed class Collect<T> : IProgress<T>
    {
        public List<T> Items { get; } = [];
        public void Report(T value) => Items.Add(value);
    }

    [Fact]
    public void Experiment_tries_classical_and_neural_candidates_and_writes_all_outputs()
    {
        using var dir = new Fixtures.TempDir();
        var events = new Collect<ExperimentEvent>();
        var options = new ExperimentOptions
        {
            Data = new() { Dataset = TopicsCsv(dir), LabelColumn = "label", TextColumns = ["text"], Seed = 2 }, MaxTrials = 6, TrainTime = TimeSpan.FromMinutes(3),
            Candidates = ["tfidf+sdca", "tfidf+lbfgs", "lstm"], Events = events,
        };
        var ml = new MLContext(seed: 1);
        string output = Path.Combine(dir.Path, "out");
        var result = TextExperiment.Run(ml, options, output);
        ExperimentOutputs.Write(ml, result, output, "test experiment");

        Assert.Equal(6, result.Trials.Count);
        Assert.Equal(["lstm", "tfidf+lbfgs", "tfidf+sdca"], result.Trials.Select(t => t.Parameters.GetString("Candidate")).Distinct().Order());
        Assert.All(result.Trials, t => Assert.NotEqual(TrialStatus.Running, t.Status));
        Assert.Contains(result.Trials, t => t.Epochs.Count > 0); // neural trials report epochs
        Assert.All(result.Trials.Where(t => t.Status == TrialStatus.Completed), t => Assert.True(t.PeakMemoryBytes > 0));
        Assert.Equal(result.Trials.Where(t => t.Status == TrialStatus.Completed).Max(t => t.Metric), result.BestTrial.Metric);
        Assert.Contains(events.Items, e => e is ExperimentEvent.NewBest);

        foreach (var f in new[] { "model.zip", "metrics.json", "trials.csv", "report.html", "experiment.db" })
            Assert.True(File.Exists(Path.Combine(output, f)), f);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        Assert.Equal(result.BestTrial.Parameters.GetString("Candidate"), metrics.RootElement.GetProperty("candidate").GetString());
        // Three balanced topics: the majority class scores 1/3; the easy data should be learned well past that.
        Assert.True(metrics.RootElement.GetProperty("test").GetProperty("accuracy").GetDouble() > 0.8);
        Assert.Equal(result.TestMetrics.Accuracy, metrics.RootElement.GetProperty("test").GetProperty("accuracy").GetDouble());
        Assert.Equal(7, File.ReadAllLines(Path.Combine(output, "trials.csv")).Length);
        // The LSTM computes in fp32 whatever Auto finds; ML.NET's learners record no precision.
        Assert.All(result.Trials, t => Assert.Equal(t.Parameters.GetString("Candidate") == "lstm" ? "fp32" : null, t.Precision));
        Assert.EndsWith(",precision", File.ReadAllLines(Path.Combine(output, "trials.csv"))[0]);
        string html = File.ReadAllText(Path.Combine(output, "report.html"));
        Assert.Contains("<svg", html);
        Assert.Contains("Confusion matrix", html);
        Assert.Contains("was kept, with validation accuracy", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", ""));

        // The saved model, loaded back, classifies texts it never saw as the in-memory run did.
        var loaded = new MLContext().Model.Load(Path.Combine(output, "model.zip"), out _);
        Assert.True(TextData.FreshTopicAccuracy(loaded, dir) > 0.8, "the loaded model does not know the topics");
    }

    [Fact]
    public void Failing_first_trial_is_recorded_and_out_of_memory_retries_with_half_the_batch()
    {
        using var dir = new Fixtures.TempDir();
        var scripted = new ScriptedCandidate((call, p, _) => call switch
        {
            1 => new InvalidOperationException("boom in the first trial"),
            2 => new Exception("CUDA out of memory. Tried to allocate 2.00 GiB"),
            _ => null,
        });
        var o = Options(TopicsCsv(dir), maxTrials: 3);
        var result = TextExperiment.Run(new MLContext(1), o, Path.Combine(dir.Path, "out"), [scripted]);
        var trials = result.Trials;
        Assert.Equal(TrialStatus.Failed, trials[0].Status);
        Assert.Contains("boom in the first trial", trials[0].Error);
        Assert.Equal(TrialStatus.Completed, trials[1].Status);
        Assert.Contains(trials[1].Retries, r => r.Contains("retried with batch size") && r.Contains("out-of-memory"));
        Assert.Equal(scripted.BatchSizes[1] / 2, scripted.BatchSizes[2]);
    }

    [Fact]
    public void Asha_prunes_a_trial_that_falls_behind_and_records_its_epochs()
    {
        using var dir = new Fixtures.TempDir();
        // Trial 1 reports a good first epoch, trial 2 a bad one: ASHA (eta 3) stops the second at the first rung.
        var scripted = new ScriptedCandidate((call, p, onEpoch) =>
        {
            onEpoch?.Invoke(new EpochReport(1, 5, 1.0, 0.5, call == 1 ? 0.9 : 0.1, "accuracy", 0.1, 1, true));
            onEpoch?.Invoke(new EpochReport(2, 5, 1.0, 0.5, call == 1 ? 0.95 : 0.1, "accuracy", 0.1, 2, true));
            return null;
        }, FixedSpace(epochs: [5]));
        var result = TextExperiment.Run(new MLContext(1), Options(TopicsCsv(dir), maxTrials: 2) with { Tuner = TunerKind.Grid }, Path.Combine(dir.Path, "out"), [scripted]);
        Assert.Equal(TrialStatus.Completed, result.Trials[0].Status);
        Assert.Equal(TrialStatus.Pruned, result.Trials[1].Status);
        Assert.Equal(1, result.Trials[1].EpochsReached);
    }

    /// <summary>Two learning rates (the grid's points) and the given epoch budgets.</summary>
    private static SearchSpace FixedSpace(object[] epochs) => new SearchSpace()
        .AddChoice(ParameterNames.LearningRate, [0.01, 0.02])
        .AddChoice(ParameterNames.BatchSize, [32])
        .AddChoice(ParameterNames.Epochs, epochs);

    [Fact]
    public void Asha_compares_a_trial_only_with_trials_of_the_same_epoch_budget()
    {
        using var dir = new Fixtures.TempDir();
        // A 1-epoch trial ends its schedule at 0.9; a 3-epoch trial is at 0.1 after its first epoch (its learning rate
        // has barely decayed). They are not in the same race: the 3-epoch trial is not pruned for it.
        var scripted = new ScriptedCandidate((call, p, onEpoch) =>
        {
            int epochs = p.GetInt(ParameterNames.Epochs);
            for (int e = 1; e <= epochs; e++)
                onEpoch?.Invoke(new EpochReport(e, epochs, 1.0, 0.5, epochs == 1 ? 0.9 : 0.1 * e + 0.01 * call, "accuracy", 0.1, e, true));
            return null;
        }, FixedSpace(epochs: [3, 1]));
        var result = TextExperiment.Run(new MLContext(1), Options(TopicsCsv(dir), maxTrials: 4) with { Tuner = TunerKind.Grid }, Path.Combine(dir.Path, "out"), [scripted]);
        Assert.Equal(4, result.Trials.Count);
        Assert.Equal(1, result.Trials[0].Parameters.GetInt(ParameterNames.Epochs)); // the case that matters: the short schedule reported first
        Assert.All(result.Trials.Where(t => t.Parameters.GetInt(ParameterNames.Epochs) == 3), t => Assert.Equal(3, t.EpochsReached));
        // (The later 3-epoch trial does better than the earlier one, so within its own budget it continues too.)
        Assert.DoesNotContain(result.Trials, t => t.Status == TrialStatus.Pruned);
    }

    [Fact]
    public void Resume_keeps_finished_trials_and_refuses_to_overwrite_without_it()
    {
        using var dir = new Fixtures.TempDir();
        string csv = TopicsCsv(dir);
        string output = Path.Combine(dir.Path, "out");
        var first = new ExperimentOptions { Data = new() { Dataset = csv, LabelColumn = "label", TextColumns = ["text"], Seed = 3 }, MaxTrials = 2, Candidates = ["tfidf+sdca"] };
        var r1 = TextExperiment.Run(new MLContext(1), first, output);
        Assert.Equal(2, r1.Trials.Count);

        var again = Assert.Throws<InvalidOperationException>(() => TextExperiment.Run(new MLContext(1), first, output));
        Assert.Contains("ExperimentOptions.Resume", again.Message);
        Assert.DoesNotContain("--", again.Message);

        var otherTuner = Assert.Throws<InvalidOperationException>(() => TextExperiment.Run(new MLContext(1), first with { Resume = true, Tuner = TunerKind.Random }, output));
        Assert.Contains("Tuner \"cfo\" then, \"random\" now", otherTuner.Message);

        var resumed = new ExperimentOptions { Data = new() { Dataset = csv, LabelColumn = "label", TextColumns = ["text"], Seed = 3 }, MaxTrials = 2, Candidates = ["tfidf+sdca"], Resume = true };
        var r2 = TextExperiment.Run(new MLContext(1), resumed, output);
        Assert.Equal(4, r2.Trials.Count);
        Assert.Equal(r1.Trials.Select(t => (t.Id, t.Metric)), r2.Trials.Take(2).Select(t => (t.Id, t.Metric)));
        // The resumed tuner continued: it did not propose the two points it had already tried.
        Assert.Equal(4, r2.Trials.Select(t => t.Parameters.Key).Distinct().Count());
    }

    [Fact]
    public void Refit_fits_the_best_pipeline_again_on_train_plus_validation_rows()
    {
        using var dir = new Fixtures.TempDir();
        string output = Path.Combine(dir.Path, "out");
        var o = Options(TopicsCsv(dir), maxTrials: 2) with { Candidates = ["lstm"], Refit = true };
        var ml = new MLContext(seed: 1);
        var result = TextExperiment.Run(ml, o, output);
        ExperimentOutputs.Write(ml, result, output, "refit");

        var refit = Assert.IsType<RefitSummary>(result.Refit);
        Assert.Equal(96, refit.Rows); // 120 rows, 20% test: all 96 training rows, not the ~77 the trials were fitted on
        Assert.Equal(96, result.TestMetrics.Rows);
        Assert.InRange(refit.TestMetricsBeforeRefit.Rows, 70, 85); // the fit rows (stratified 80% of 96)
        Assert.True(refit.Seconds > 0);

        // A new model, not the trial's: its scores on the test rows differ from the saved best trial's.
        var trialModel = ml.Model.Load(Path.Combine(output, "trial-models", $"trial-{result.BestTrial.Id}.zip"), out _);
        var refitModel = ml.Model.Load(Path.Combine(output, "model.zip"), out _);
        var test = result.Data.TestView(ml);
        var before = TestProcesses.ScoredColumns(trialModel.Transform(test))["Score"];
        var after = TestProcesses.ScoredColumns(refitModel.Transform(test))["Score"];
        Assert.Equal(before.Count, after.Count);
        Assert.NotEqual(before.SelectMany(v => v), after.SelectMany(v => v));

        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        Assert.Equal(96, metrics.RootElement.GetProperty("refit").GetProperty("rows").GetInt32());
        Assert.True(metrics.RootElement.GetProperty("refit").GetProperty("testBeforeRefit").TryGetProperty("accuracy", out _));
        Assert.Contains("fitted again on all 96 training rows", File.ReadAllText(Path.Combine(output, "report.html")));
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public void Join_resume_requeues_only_trials_whose_worker_stopped_beating()
    {
        using var dir = new Fixtures.TempDir();
        string output = Path.Combine(dir.Path, "out"), db = Path.Combine(output, "experiment.db");
        var o = Options(TopicsCsv(dir), maxTrials: 1) with { Candidates = ["tfidf+sdca"], Join = true };
        TextExperiment.Run(new MLContext(1), o, output);
        var point = SearchSpaces.SdcaMaximumEntropy().Defaults().With(ParameterNames.L2Regularization, 0.5);
        long dead, alive;
        using (var past = TrialStore.Open(db, new FixedClock(DateTimeOffset.UtcNow - TimeSpan.FromMinutes(10))))
        {
            dead = past.AddTrial("experiment", point.With(TextExperiment.CandidateKey, "tfidf+sdca"));
            Assert.True(past.TryStart(dead, "crashed-worker")); // last heartbeat 10 minutes ago
        }
        using (var now = TrialStore.Open(db))
        {
            alive = now.AddTrial("experiment", point.With(ParameterNames.L1Regularization, 0.01).With(TextExperiment.CandidateKey, "tfidf+sdca"));
            Assert.True(now.TryStart(alive, "busy-worker")); // beating now
        }

        var result = TextExperiment.Run(new MLContext(1), o with { Resume = true }, output);
        var rerun = result.Trials.Single(t => t.Id == dead);
        Assert.Equal(TrialStatus.Completed, rerun.Status); // requeued and claimed first
        Assert.Equal(2, rerun.Attempts);
        Assert.Contains(rerun.Retries, r => r.Contains("crashed-worker"));
        var untouched = result.Trials.Single(t => t.Id == alive);
        Assert.Equal(TrialStatus.Running, untouched.Status);
        Assert.Equal("busy-worker", untouched.WorkerId);
    }

    [Fact]
    public void A_running_trial_sends_heartbeats()
    {
        using var dir = new Fixtures.TempDir();
        string output = Path.Combine(dir.Path, "out");
        DateTimeOffset? started = null, lastBeat = null;
        var scripted = new ScriptedCandidate((call, p, _) =>
        {
            Thread.Sleep(1500);
            using var store = TrialStore.Open(Path.Combine(output, "experiment.db"));
            var t = store.ListTrials("experiment").Single();
            (started, lastBeat) = (t.StartedAt, t.HeartbeatAt);
            return null;
        });
        TextExperiment.Run(new MLContext(1), Options(TopicsCsv(dir), maxTrials: 1) with { HeartbeatInterval = TimeSpan.FromMilliseconds(200) }, output, [scripted]);
        Assert.True(lastBeat - started >= TimeSpan.FromMilliseconds(600), $"started {started:O}, last heartbeat {lastBeat:O}");
    }

    [Fact]
    public void Neural_trials_record_the_precision_auto_chose_in_the_store_metrics_and_report()
    {
        using var dir = new Fixtures.TempDir();
        var o = Options(TopicsCsv(dir), maxTrials: 1) with { Candidates = ["transformer"] };
        var ml = new MLContext(seed: 1);
        string output = Path.Combine(dir.Path, "out");
        var result = TextExperiment.Run(ml, o, output);
        ExperimentOutputs.Write(ml, result, output, "precision");
        string expected = MlNetLlm.Modeling.Runtime.PrecisionSupport.CpuNativeBf16Flag is null ? "fp32" : "bf16";
        Assert.Equal(expected, result.Trials.Single().Precision);
        using (var store = TrialStore.Open(Path.Combine(output, TextExperiment.DefaultStoreFile)))
            Assert.Equal(expected, store.ListTrials(o.ExperimentName).Single().Precision);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        Assert.Equal(expected, metrics.RootElement.GetProperty("precision").GetString());
        Assert.Equal(expected, metrics.RootElement.GetProperty("test").GetProperty("precision").GetString());
        Assert.Contains($"<td>{expected}</td>", File.ReadAllText(Path.Combine(output, "report.html")));
        // The model zip says so too: the transformer was trained and scores in it.
        var loaded = (TransformerChain<ITransformer>)new MLContext().Model.Load(Path.Combine(output, "model.zip"), out _);
        Assert.Equal(expected, Flatten(loaded).OfType<MlNetLlm.Estimators.TextPredictionTransformer>().Single().Spec.Precision.ToString().ToLowerInvariant());
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer t) =>
        t is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [t];

    [Fact]
    public void Bf16_with_an_lstm_candidate_is_refused_naming_the_option_before_any_output()
    {
        using var dir = new Fixtures.TempDir();
        var o = Options(TopicsCsv(dir), maxTrials: 1) with { Candidates = ["tfidf+sdca", "lstm"], Precision = MlNetLlm.Modeling.Runtime.Precision.Bf16 };
        string output = dir.File("out");
        var e = Assert.Throws<ArgumentException>(() => TextExperiment.Run(new MLContext(), o, output));
        Assert.Contains("ExperimentOptions.Precision", e.Message);
        Assert.Contains("lstm", e.Message);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void Unknown_candidate_and_tuner_are_named()
    {
        using var dir = new Fixtures.TempDir();
        var bad = new ExperimentOptions { Data = new() { Dataset = TopicsCsv(dir), LabelColumn = "label", TextColumns = ["text"] }, Candidates = ["gpt"] };
        Assert.Contains("gpt", Assert.Throws<ArgumentException>(() => TextExperiment.Run(new MLContext(), bad, dir.File("o"))).Message);
        string tunerError = Assert.Throws<ArgumentOutOfRangeException>(() => TextExperiment.CreateTuner((TunerKind)42, SearchSpaces.Lstm(), 1)).Message;
        Assert.Contains("ExperimentOptions.Tuner 42 is not one of Cfo, Random, Grid, Tpe", tunerError);
    }

    [Fact]
    public void A_job_encoder_or_trainer_in_the_experiment_data_is_refused_before_anything_is_written()
    {
        using var dir = new Fixtures.TempDir();
        var data = new TextJobOptions { Dataset = TopicsCsv(dir), LabelColumn = "label", TextColumns = ["text"] };
        var encoder = Assert.Throws<ArgumentException>(() => TextExperiment.Run(new MLContext(), new ExperimentOptions { Data = data with { Encoder = "tfidf" } }, dir.File("o")));
        Assert.Contains("TextJobOptions.Encoder 'tfidf' cannot apply to an experiment", encoder.Message);
        var trainer = Assert.Throws<ArgumentException>(() => TextExperiment.Run(new MLContext(), new ExperimentOptions { Data = data with { Trainer = new() { Epochs = 9 } } }, dir.File("o")));
        Assert.Contains("TextJobOptions.Trainer cannot apply to an experiment", trainer.Message);
        Assert.False(Directory.Exists(dir.File("o")));
    }

    [Fact]
    public void A_neural_trial_is_judged_on_its_best_epochs_validation_scores_without_scoring_the_rows_again()
    {
        // The training loop scored the validation rows at each epoch; the trial's metric and per-row scores are those of
        // its best epoch. In fp32 they must be what ML.NET's evaluator gives on the returned model, row for row.
        using var dir = new Fixtures.TempDir();
        var ml = new MLContext(1);
        var job = TextJobData.Load(new TextJobOptions { Dataset = TopicsCsv(dir, 240), LabelColumn = "label", TextColumns = ["text"] });
        var (fit, validation) = job.SplitTrain(0.25, seed: 1);
        var data = job.WithRows(fit, validation);
        var candidate = NeuralCandidate.FineTune(Fixtures.Checkpoint("tiny-bert"), Precision.Fp32);
        var p = candidate.Space.Defaults().With(ParameterNames.Epochs, 3).With(ParameterNames.MaxLength, 64).With(ParameterNames.LearningRate, 3e-4)
            .With(ParameterNames.BatchSize, 16);
        var outcome = candidate.Run(ml, data, p, new DeviceOptions(), null, default);
        Assert.Equal(validation.Count, outcome.ValidationScores.Length);
        Assert.True(outcome.ValidationMetric > 0.5, $"validation accuracy {outcome.ValidationMetric}: no better than the majority class (1/3), so near-ties would decide rows");
        Assert.Equal(outcome.Epochs!.Max(e => e.ValidationMetric!.Value), outcome.ValidationMetric, 12);
        var scored = ml.Data.Cache(outcome.Model.Transform(data.TestView(ml)));
        var again = Candidate.ValidationScores(data, scored);
        Assert.True(again.SequenceEqual(outcome.ValidationScores), $"loop {string.Join("", outcome.ValidationScores)} rescored {string.Join("", again)} metric {outcome.ValidationMetric} epochs {string.Join(",", outcome.Epochs!.Select(e => e.ValidationMetric))}");
        Assert.Equal(Candidate.Metric(ml, data, scored), outcome.ValidationMetric, 12);
    }
}
