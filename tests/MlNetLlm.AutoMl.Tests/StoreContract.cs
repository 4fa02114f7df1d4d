namespace MlNetLlm.AutoMl.Tests;

/// <summary>Behaviour every <see cref="ITrialStore"/> must have; run against SQLite and PostgreSQL.</summary>
public static class StoreContract
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static string NewExperiment() => "exp-" + Guid.NewGuid().ToString("N")[..10];

    private static ParameterSet Point(double x, int epochs = 3) => new([new("x", x), new("Epochs", epochs), new("Optimizer", "adamw")]);

    /// <summary>Every field of a trial, for comparing snapshots.</summary>
    public static string Describe(TrialRecord t) =>
        $"{t.Id}|{t.Experiment}|{t.Parameters.ToJson()}|{t.Status}|{string.Join(";", t.Epochs)}|{t.Metric:R}|{t.Error}|{t.DurationSeconds:R}|" +
        $"{t.PeakMemoryBytes}|{t.PeakGpuMemoryBytes}|{t.WorkerId}|{t.CreatedAt:O}|{t.StartedAt:O}|{t.EndedAt:O}|{t.HeartbeatAt:O}|{t.Attempts}|{string.Join(";", t.Retries)}|{t.Precision}";

    public static void Lifecycle(Func<TimeProvider?, ITrialStore> open)
    {
        var clock = new ManualTime(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
        string exp = NewExperiment();
        long a, b;
        using (var store = open(clock))
        {
            Assert.Null(store.GetExperiment(exp));
            var created = store.CreateExperiment(exp, """{"tuner":"cfo"}""");
            Assert.Equal(exp, created.Name);
            Assert.Equal("""{"tuner":"cfo"}""", created.SettingsJson);
            // Creating again (a resumed run) keeps the original settings.
            Assert.Equal("""{"tuner":"cfo"}""", store.CreateExperiment(exp, """{"tuner":"random"}""").SettingsJson);
            Assert.Contains(store.ListExperiments(), e => e.Name == exp);

            a = store.AddTrial(exp, Point(0.25));
            b = store.AddTrial(exp, Point(0.5, 7));
            Assert.True(b > a);
            var pending = store.GetTrial(a)!;
            Assert.Equal(TrialStatus.Pending, pending.Status);
            Assert.Equal(Point(0.25), pending.Parameters);
            Assert.IsType<double>(pending.Parameters["x"]);
            Assert.IsType<int>(pending.Parameters["Epochs"]);
            Assert.Null(pending.WorkerId);
            Assert.Equal(0, pending.Attempts);
            Assert.Equal(clock.Now, pending.CreatedAt);

            // Claims go in id order.
            var claimed = store.ClaimNext(exp, "w1")!;
            Assert.Equal(a, claimed.Id);
            Assert.Equal(TrialStatus.Running, claimed.Status);
            Assert.Equal("w1", claimed.WorkerId);
            Assert.Equal(1, claimed.Attempts);
            Assert.Equal(clock.Now, claimed.StartedAt);

            clock.Advance(TimeSpan.FromSeconds(10));
            store.ReportEpoch(a, new EpochMetric(1, 0.61, 0.9, 10));
            clock.Advance(TimeSpan.FromSeconds(10));
            store.ReportEpoch(a, new EpochMetric(2, 0.72, null, 10));
            Assert.Equal(clock.Now, store.GetTrial(a)!.HeartbeatAt);
            clock.Advance(TimeSpan.FromSeconds(2.5));
            store.Complete(a, 0.72, new TrialResources { PeakMemoryBytes = 123_456_789, PeakGpuMemoryBytes = 5_000_000_000, Precision = "bf16" });
        }

        // Everything is there after reopening.
        using (var store = open(null))
        {
            var done = store.GetTrial(a)!;
            Assert.Equal(TrialStatus.Completed, done.Status);
            Assert.Equal(0.72, done.Metric);
            Assert.Equal([new EpochMetric(1, 0.61, 0.9, 10), new EpochMetric(2, 0.72, null, 10)], done.Epochs);
            Assert.Equal(2, done.EpochsReached);
            Assert.Equal(22.5, done.DurationSeconds!.Value, 3); // from the start time, not given explicitly
            Assert.Equal(123_456_789, done.PeakMemoryBytes);
            Assert.Equal(5_000_000_000, done.PeakGpuMemoryBytes);
            Assert.Equal("bf16", done.Precision);
            Assert.Equal(new DateTimeOffset(2025, 3, 1, 12, 0, 22, 500, TimeSpan.Zero), done.EndedAt);
            Assert.Equal("w1", done.WorkerId);
            Assert.Null(done.Error);
            var result = done.ToResult();
            Assert.True(result.IsSuccess);
            Assert.Equal(0.72, result.Metric);
            Assert.Equal(2, result.Epochs);

            var list = store.ListTrials(exp);
            Assert.Equal([a, b], list.Select(t => t.Id));
            Assert.Equal(TrialStatus.Pending, list[1].Status);

            var second = store.ClaimNext(exp, "w2")!;
            Assert.Equal(b, second.Id);
            store.Complete(b, double.NaN, new TrialResources { DurationSeconds = 1.25 });
            var nan = store.GetTrial(b)!;
            Assert.Null(nan.Metric);
            Assert.Null(nan.Precision); // none given: an ML.NET learner's trial
            Assert.Equal(1.25, nan.DurationSeconds);
            Assert.False(nan.ToResult().IsSuccess);

            Assert.Null(store.ClaimNext(exp, "w1"));
        }
    }

    public static void PruneFailRetryAndErrors(Func<TimeProvider?, ITrialStore> open)
    {
        string exp = NewExperiment();
        using var store = open(null);
        store.CreateExperiment(exp, "{}");
        long p = store.AddTrial(exp, Point(0.1));
        long f = store.AddTrial(exp, Point(0.2, 64));
        long g = store.AddTrial(exp, Point(0.3));

        Assert.True(store.TryStart(p, "w"));
        Assert.False(store.TryStart(p, "other")); // already running
        store.ReportEpoch(p, new EpochMetric(1, 0.3));
        store.ReportEpoch(p, new EpochMetric(2, double.NaN, 2.5));
        store.ReportEpoch(p, new EpochMetric(3, 0.25));
        store.Prune(p); // metric: the last epoch's
        var pruned = store.GetTrial(p)!;
        Assert.Equal(TrialStatus.Pruned, pruned.Status);
        Assert.Equal(0.25, pruned.Metric);
        Assert.Equal(3, pruned.EpochsReached);
        Assert.True(double.IsNaN(pruned.Epochs[1].Metric));
        Assert.Equal(2.5, pruned.Epochs[1].Loss);
        Assert.Equal(TrialStatus.Pruned, pruned.ToResult().Status);
        Assert.Equal(3, pruned.ToResult().Epochs);

        // Out of memory: retried with half the batch size, recorded, then failed anyway.
        Assert.Equal(f, store.ClaimNext(exp, "w")!.Id);
        store.AddRetry(f, "retried with batch size 32 after out-of-memory", Point(0.2, 32));
        var retried = store.GetTrial(f)!;
        Assert.Equal(["retried with batch size 32 after out-of-memory"], retried.Retries);
        Assert.Equal(32, retried.Parameters.GetInt("Epochs"));
        store.Fail(f, "CUDA out of memory (twice)", new TrialResources { PeakMemoryBytes = 42 });
        var failed = store.GetTrial(f)!;
        Assert.Equal(TrialStatus.Failed, failed.Status);
        Assert.Equal("CUDA out of memory (twice)", failed.Error);
        Assert.Equal(42, failed.PeakMemoryBytes);
        Assert.NotNull(failed.EndedAt);

        // A pending trial can fail without running (e.g. invalid parameters).
        store.Fail(g, "invalid parameters");
        Assert.Equal(TrialStatus.Failed, store.GetTrial(g)!.Status);
        Assert.Null(store.GetTrial(g)!.DurationSeconds);

        // Stopped by the time budget before any validated result: its own status, with the reason.
        long s = store.AddTrial(exp, Point(0.9));
        Assert.Equal(s, store.ClaimNext(exp, "w")!.Id);
        store.Stop(s, "budget: 40 s to its first validation, 12 s left");
        var stopped = store.GetTrial(s)!;
        Assert.Equal(TrialStatus.Stopped, stopped.Status);
        Assert.Equal("budget: 40 s to its first validation, 12 s left", stopped.Error);
        Assert.Equal(TrialStatus.Stopped, stopped.ToResult().Status);
        Assert.Contains("is stopped, not running", Assert.Throws<TrialStoreException>(() => store.Stop(s, "again")).Message);

        // Wrong states and unknown ids are clear errors.
        Assert.Contains("is failed, not running", Assert.Throws<TrialStoreException>(() => store.Complete(f, 0.5)).Message);
        Assert.Contains("is pruned, not running", Assert.Throws<TrialStoreException>(() => store.ReportEpoch(p, new EpochMetric(4, 0.1))).Message);
        Assert.Contains("pending or running", Assert.Throws<TrialStoreException>(() => store.Fail(p, "late")).Message);
        Assert.Contains("no trial 987654321", Assert.Throws<TrialStoreException>(() => store.Complete(987654321, 0.5)).Message);
        Assert.Contains("no trial 987654321", Assert.Throws<TrialStoreException>(() => store.TryStart(987654321, "w")).Message);
        Assert.Null(store.GetTrial(987654321));
        Assert.Contains("no experiment named 'nope-", Assert.Throws<TrialStoreException>(() => store.AddTrial("nope-" + exp, Point(0))).Message);
        Assert.Null(store.ClaimNext("nope-" + exp, "w"));
        Assert.Empty(store.ListTrials("nope-" + exp));
        Assert.Throws<ArgumentException>(() => store.ClaimNext(exp, ""));
    }

    public static void ResumeRequeuesOnlyRunningTrials(Func<TimeProvider?, ITrialStore> open)
    {
        var clock = new ManualTime(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
        string exp = NewExperiment();
        using var store = open(clock);
        store.CreateExperiment(exp, "{}");
        var ids = Enumerable.Range(0, 5).Select(i => store.AddTrial(exp, Point(i / 10.0))).ToArray();

        var t0 = store.ClaimNext(exp, "w1")!;
        store.ReportEpoch(t0.Id, new EpochMetric(1, 0.5));
        store.Complete(t0.Id, 0.5);
        var t1 = store.ClaimNext(exp, "w1")!;          // w1 dies while running t1 (2 epochs in)
        store.ReportEpoch(t1.Id, new EpochMetric(1, 0.4));
        store.ReportEpoch(t1.Id, new EpochMetric(2, 0.45));
        clock.Advance(TimeSpan.FromMinutes(10));
        var t2 = store.ClaimNext(exp, "w2")!;          // w2 is alive and running t2
        var completedBefore = store.GetTrial(t0.Id)!;

        // A restarted w2 requeues only its own trials: none of w1's.
        Assert.Equal(0, store.Resume(exp, workerId: "w3"));
        // Stale heartbeats only (5 minutes): t1 (10 minutes old), not t2 (just claimed).
        Assert.Equal(1, store.Resume(exp, staleAfter: TimeSpan.FromMinutes(5)));
        var requeued = store.GetTrial(t1.Id)!;
        Assert.Equal(TrialStatus.Pending, requeued.Status);
        Assert.Empty(requeued.Epochs);
        Assert.Null(requeued.WorkerId);
        Assert.Null(requeued.StartedAt);
        var note = Assert.Single(requeued.Retries);
        Assert.Contains("worker w1", note);
        Assert.Contains("after 2 epoch(s)", note);
        Assert.Equal(TrialStatus.Running, store.GetTrial(t2.Id)!.Status);

        // Writes from the dead worker's attempt are refused now.
        Assert.Contains("pending", Assert.Throws<TrialStoreException>(() => store.Complete(t1.Id, 0.9)).Message);

        // A plain resume (single worker restarting) requeues every running trial.
        Assert.Equal(1, store.Resume(exp));
        Assert.Equal(TrialStatus.Pending, store.GetTrial(t2.Id)!.Status);
        Assert.Equal(0, store.Resume(exp));

        // The completed trial is untouched; the requeued one is claimed again (oldest first) as attempt 2.
        Assert.Equal(Describe(completedBefore), Describe(store.GetTrial(t0.Id)!));
        var again = store.ClaimNext(exp, "w4")!;
        Assert.Equal(t1.Id, again.Id);
        Assert.Equal(2, again.Attempts);
        Assert.Equal(ids[1], again.Id);
    }

    /// <summary>Workers proposing the same points at once: each point is added once, whatever the interleaving;
    /// 16 and 16.0 are the same setting.</summary>
    public static void ConcurrentAddIfNewAddsEachPointOnce(Func<TimeProvider?, ITrialStore> open, int threads, int points)
    {
        string exp = NewExperiment();
        using (var setup = open(null)) setup.CreateExperiment(exp, "{}");
        var added = new System.Collections.Concurrent.ConcurrentBag<long>();
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, w =>
        {
            using var store = open(null);
            var order = Enumerable.Range(0, points).ToArray();
            new Random(w).Shuffle(order);
            foreach (int i in order)
                if (store.AddTrialIfNew(exp, i % 2 == 0 ? Point(i) : Point(i, epochs: 4)) is { } id) added.Add(id);
        });
        using var check = open(null);
        var all = check.ListTrials(exp);
        Assert.Equal(points, added.Count);
        Assert.Equal(points, all.Count);
        Assert.Equal(points, all.Select(t => t.Parameters.Key).Distinct().Count());
        Assert.Null(check.AddTrialIfNew(exp, new ParameterSet([new("x", 0.0), new("Epochs", 3.0), new("Optimizer", "adamw")])));
        Assert.NotNull(check.AddTrialIfNew(exp, Point(0.5)));
        Assert.Throws<TrialStoreException>(() => check.AddTrialIfNew("no-such-experiment", Point(1)));
    }

    public static void ConcurrentClaimsNeverCollide(Func<TimeProvider?, ITrialStore> open, int threads, int trials)
    {
        string exp = NewExperiment();
        using (var setup = open(null))
        {
            setup.CreateExperiment(exp, "{}");
            for (int i = 0; i < trials; i++) setup.AddTrial(exp, Point(i));
        }
        var claimedBy = new System.Collections.Concurrent.ConcurrentBag<(long Id, int Worker)>();
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, w =>
        {
            using var store = open(null); // one store object per worker, as separate processes would have
            while (store.ClaimNext(exp, $"t{w}") is { } t)
            {
                claimedBy.Add((t.Id, w));
                store.Complete(t.Id, t.Parameters.GetDouble("x"));
            }
        });
        using var check = open(null);
        var all = check.ListTrials(exp);
        Assert.Equal(trials, claimedBy.Count);
        Assert.Equal(all.Select(t => t.Id).Order(), claimedBy.Select(c => c.Id).Order());
        Assert.All(all, t =>
        {
            Assert.Equal(TrialStatus.Completed, t.Status);
            Assert.Equal(1, t.Attempts);
            Assert.Equal(t.Parameters.GetDouble("x"), t.Metric);
        });
    }

    /// <summary>
    /// A worker process is SIGKILLed in the middle of a trial. Afterwards: every trial it reported complete is
    /// intact, the trial it was running goes back to pending on resume and is rerun, and the experiment finishes with
    /// every trial completed exactly once.
    /// </summary>
    public static void SigkillMidTrialThenResume(string location, Func<ITrialStore> open)
    {
        string exp = NewExperiment();
        const int trials = 6, epochs = 3;
        using (var setup = open())
        {
            setup.CreateExperiment(exp, """{"tuner":"grid"}""");
            for (int i = 0; i < trials; i++) setup.AddTrial(exp, new ParameterSet([new("x", 0.1 * (i + 1))]));
        }

        List<long> reportedComplete;
        long killedTrial;
        Dictionary<long, TrialRecord> completedBeforeKill;
        using (var worker = WorkerProcess.Start(location, exp, "victim", epochs, msPerEpoch: 150))
        using (var watch = open())
        {
            // Kill once two trials are done and the third has reported at least one epoch, i.e. mid-trial.
            worker.WaitUntil(() =>
            {
                var list = watch.ListTrials(exp);
                return list.Count(t => t.Status == TrialStatus.Completed) >= 2
                    && list.Any(t => t.Status == TrialStatus.Running && t.Epochs.Count is >= 1 and < epochs);
            }, Patience, "two completed trials and one mid-trial");
            int exit = worker.KillHard();
            if (OperatingSystem.IsLinux()) Assert.Equal(128 + 9, exit); // died of SIGKILL
            reportedComplete = worker.Completed.ToList();
            var after = watch.ListTrials(exp);
            killedTrial = Assert.Single(after, t => t.Status == TrialStatus.Running).Id;
            completedBeforeKill = after.Where(t => t.Status == TrialStatus.Completed).ToDictionary(t => t.Id);
            Assert.Equal("victim", after.Single(t => t.Id == killedTrial).WorkerId);
        }
        Assert.True(reportedComplete.Count >= 2);
        Assert.DoesNotContain(killedTrial, reportedComplete);

        using (var store = open())
        {
            // Nothing the worker finished is lost.
            foreach (long id in reportedComplete)
            {
                var t = store.GetTrial(id)!;
                Assert.Equal(TrialStatus.Completed, t.Status);
                Assert.Equal(epochs, t.Epochs.Count);
                Assert.Equal(Program.SyntheticMetric(t.Parameters, epochs), t.Metric!.Value, 12);
                Assert.NotNull(t.PeakMemoryBytes);
            }
            Assert.Equal(1, store.Resume(exp));
            var requeued = store.GetTrial(killedTrial)!;
            Assert.Equal(TrialStatus.Pending, requeued.Status);
            Assert.Contains("worker victim", Assert.Single(requeued.Retries));
        }

        // A new worker finishes the experiment, rerunning the unfinished trial first.
        using (var worker = WorkerProcess.Start(location, exp, "rescuer", epochs, msPerEpoch: 5))
        {
            worker.WaitForSuccess(Patience);
            Assert.Equal(killedTrial, worker.Claimed.First());
        }
        using (var store = open())
        {
            var final = store.ListTrials(exp);
            Assert.Equal(trials, final.Count);
            Assert.All(final, t => Assert.Equal(TrialStatus.Completed, t.Status));
            foreach (var (id, before) in completedBeforeKill)
                Assert.Equal(Describe(before), Describe(final.Single(t => t.Id == id))); // untouched by the kill, the resume and the rescuer
            var rerun = final.Single(t => t.Id == killedTrial);
            Assert.Equal(2, rerun.Attempts);
            Assert.Equal("rescuer", rerun.WorkerId);
            Assert.Equal(epochs, rerun.Epochs.Count);
            Assert.All(final.Where(t => t.Id != killedTrial), t => Assert.Equal(1, t.Attempts));
        }
    }

    /// <summary>Two worker processes claim trials of one experiment at the same time: no trial runs twice, none is lost.</summary>
    public static void TwoWorkerProcessesShareAnExperiment(string location, Func<ITrialStore> open, int trials)
    {
        string exp = NewExperiment();
        using (var setup = open())
        {
            setup.CreateExperiment(exp, "{}");
            for (int i = 0; i < trials; i++) setup.AddTrial(exp, new ParameterSet([new("x", i / (double)trials)]));
        }
        using var dir = new TempDir();
        string go = dir.File("go");
        using var w1 = WorkerProcess.Start(location, exp, "worker-1", epochs: 1, msPerEpoch: 20, goFile: go);
        using var w2 = WorkerProcess.Start(location, exp, "worker-2", epochs: 1, msPerEpoch: 20, goFile: go);
        w1.WaitForLine("ready", Patience);
        w2.WaitForLine("ready", Patience);
        File.WriteAllText(go, "go"); // both start claiming at the same moment
        w1.WaitForSuccess(Patience);
        w2.WaitForSuccess(Patience);

        var ran1 = w1.Claimed;
        var ran2 = w2.Claimed;
        Assert.Empty(ran1.Intersect(ran2));                 // no trial run by both
        Assert.Equal(ran1.Count, ran1.Distinct().Count());  // nor twice by one
        Assert.Equal(ran2.Count, ran2.Distinct().Count());
        Assert.NotEmpty(ran1);                              // both took part
        Assert.NotEmpty(ran2);
        using var store = open();
        var all = store.ListTrials(exp);
        Assert.Equal(trials, all.Count);
        Assert.Equal(all.Select(t => t.Id).Order(), ran1.Concat(ran2).Order()); // none lost
        Assert.All(all, t =>
        {
            Assert.Equal(TrialStatus.Completed, t.Status);
            Assert.Equal(1, t.Attempts);
            Assert.Equal(ran1.Contains(t.Id) ? "worker-1" : "worker-2", t.WorkerId);
        });
    }
}
