using System.Data.Common;
using static MlNetLlm.AutoMl.TrialTables;

namespace MlNetLlm.AutoMl;

/// <summary>
/// The trial store for every SQL database (as optuna keeps one RDB storage): the schema, the queries and the rules
/// of <see cref="ITrialStore"/>, written once over <see cref="DbConnection"/>. A database's store derives from it and
/// supplies its dialect (the abstract members below: connection, locking, column types, JSON, times, errors).
/// Every operation opens a pooled connection and runs one auto-committed statement, or one short transaction where
/// a check and a write must be atomic, so all it wrote is durable when a call returns.
/// </summary>
internal abstract class RelationalTrialStore : ITrialStore
{
    private readonly TimeProvider time;

    protected RelationalTrialStore(TimeProvider? time) => this.time = time ?? TimeProvider.System;

    // --- the dialect ---

    public abstract string Description { get; }

    /// <summary>Column types of the schema, in the database's own names.</summary>
    protected abstract SqlTypes Types { get; }

    /// <summary>An open connection, set up for durable writes; a database that cannot be reached is a
    /// <see cref="TrialStoreException"/> naming where it was looked for.</summary>
    protected abstract DbConnection Open();

    /// <summary>A transaction that holds off every other process creating or upgrading the schema; also the place
    /// to refuse a database that holds something other than a trial store.</summary>
    protected abstract DbTransaction BeginSchemaChange(DbConnection c);

    /// <summary>A transaction in which no other process adds trials to <paramref name="experiment"/> until it ends,
    /// so that a check for a point and its insert are one step.</summary>
    protected abstract DbTransaction BeginAddingTo(DbConnection c, string experiment);

    /// <summary>Appended to the claim's subquery: how concurrent claims skip a row another claim holds ("" where a
    /// single UPDATE already runs alone).</summary>
    protected virtual string ClaimLock => "";

    /// <summary>A time as the database stores it (a parameter value).</summary>
    protected abstract object Timestamp(DateTimeOffset t);

    /// <summary>SQL: seconds from time <paramref name="from"/> to time <paramref name="to"/> (NULL when either is).</summary>
    protected abstract string SecondsBetween(string from, string to);

    /// <summary>SQL: JSON array column <paramref name="array"/> with the JSON text <paramref name="json"/> appended.</summary>
    protected abstract string AppendJson(string array, string json);

    /// <summary>SQL: JSON array column <paramref name="array"/> with the string <paramref name="text"/> appended.</summary>
    protected abstract string AppendString(string array, string text);

    /// <summary>SQL: the length of JSON array column <paramref name="array"/>.</summary>
    protected abstract string ArrayLength(string array);

    /// <summary>SQL: the number in field <paramref name="field"/> of the last element of JSON array <paramref name="array"/>.</summary>
    protected abstract string LastNumber(string array, string field);

    /// <summary>A provider error as a <see cref="TrialStoreException"/> that names the store.</summary>
    protected abstract TrialStoreException Error(DbException e);

    public abstract void Dispose();

    // --- schema ---

    /// <summary>Creates the tables if needed and upgrades old ones in place; the derived constructor calls it once its
    /// connection settings are ready.</summary>
    protected void Initialize() => Run(c =>
    {
        using var tx = BeginSchemaChange(c);
        CreateOrUpgrade(c, Types, Description);
        tx.Commit();
        return 0;
    });

    // --- experiments ---

    public ExperimentRecord CreateExperiment(string name, string settingsJson)
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(settingsJson);
        return Run(c =>
        {
            c.Exec("INSERT INTO automl_experiments(name, settings, created_at) VALUES(@n, @s, @t) ON CONFLICT (name) DO NOTHING",
                ("@n", name), ("@s", settingsJson), ("@t", Now()));
            return GetExperiment(c, name)!;
        });
    }

    public ExperimentRecord? GetExperiment(string name) => Run(c => GetExperiment(c, name));

    private static ExperimentRecord? GetExperiment(DbConnection c, string name) =>
        c.Read("SELECT name, settings, created_at FROM automl_experiments WHERE name = @n", ReadExperiment, ("@n", name)).SingleOrDefault();

    public IReadOnlyList<ExperimentRecord> ListExperiments() =>
        Run(c => c.Read("SELECT name, settings, created_at FROM automl_experiments ORDER BY created_at, name", ReadExperiment));

    // --- trials ---

    public long AddTrial(string experiment, ParameterSet parameters)
    {
        CheckName(experiment);
        ArgumentNullException.ThrowIfNull(parameters);
        return Run(c => Insert(c, experiment, parameters));
    }

    private long Insert(DbConnection c, string experiment, ParameterSet parameters) =>
        c.Scalar("""
            INSERT INTO automl_trials(experiment, parameters, status, created_at)
            SELECT @e, @p, 'pending', @t WHERE EXISTS(SELECT 1 FROM automl_experiments WHERE name = @e)
            RETURNING id
            """, ("@e", experiment), ("@p", parameters.ToJson()), ("@t", Now())) is long id ? id : throw NoExperiment(experiment);

    public long? AddTrialIfNew(string experiment, ParameterSet parameters)
    {
        CheckName(experiment);
        ArgumentNullException.ThrowIfNull(parameters);
        return Run(c =>
        {
            using var tx = BeginAddingTo(c, experiment);
            using (var cmd = c.Command("SELECT parameters FROM automl_trials WHERE experiment = @e", ("@e", experiment)))
            using (var r = cmd.ExecuteReader())
                if (StoreJson.AnySameParameters(r, parameters)) return (long?)null;
            long id = Insert(c, experiment, parameters);
            tx.Commit();
            return id;
        });
    }

    public TrialRecord? ClaimNext(string experiment, string workerId)
    {
        CheckName(experiment);
        CheckName(workerId, "worker id");
        return Run(c => c.Read($"""
            UPDATE automl_trials SET status = 'running', worker_id = @w, started_at = @t, heartbeat_at = @t, attempts = attempts + 1
            WHERE id = (SELECT id FROM automl_trials WHERE experiment = @e AND status = 'pending' ORDER BY id LIMIT 1{ClaimLock})
              AND status = 'pending'
            RETURNING {TrialColumns}
            """, ReadTrial, ("@e", experiment), ("@w", workerId), ("@t", Now())).SingleOrDefault());
    }

    public bool TryStart(long trialId, string workerId)
    {
        CheckName(workerId, "worker id");
        return Run(c =>
        {
            if (c.Exec("""
                UPDATE automl_trials SET status = 'running', worker_id = @w, started_at = @t, heartbeat_at = @t, attempts = attempts + 1
                WHERE id = @id AND status = 'pending'
                """, ("@id", trialId), ("@w", workerId), ("@t", Now())) == 1) return true;
            _ = GetTrial(c, trialId) ?? throw NotFound(trialId);
            return false;
        });
    }

    public void ReportEpoch(long trialId, EpochMetric epoch)
    {
        ArgumentNullException.ThrowIfNull(epoch);
        Update(trialId, "report an epoch of", Running, [$"epochs = {AppendJson("epochs", "@j")}", "heartbeat_at = @t"],
            ("@j", StoreJson.Epoch(epoch)), ("@t", Now()));
    }

    public void Heartbeat(long trialId) => Update(trialId, "refresh the heartbeat of", Running, ["heartbeat_at = @t"], ("@t", Now()));

    public void AddRetry(long trialId, string note, ParameterSet? newParameters = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(note);
        List<string> set = [$"retries = {AppendString("retries", "@n")}"];
        if (newParameters is not null) set.Add("parameters = @p");
        Update(trialId, "add a retry note to", PendingOrRunning, set, ("@n", note), ("@p", newParameters?.ToJson()));
    }

    public void Complete(long trialId, double metric, TrialResources? resources = null) =>
        Finish(trialId, "complete", Running, "completed", resources, metricSql: Finite(metric) is null ? "NULL" : "@m", metric: Finite(metric));

    public void Prune(long trialId, double? metric = null, TrialResources? resources = null) =>
        Finish(trialId, "prune", Running, "pruned", resources, metricSql: Finite(metric) is null ? LastNumber("epochs", "metric") : "@m", metric: Finite(metric));

    public void Fail(long trialId, string error, TrialResources? resources = null)
    {
        ArgumentNullException.ThrowIfNull(error);
        Finish(trialId, "fail", PendingOrRunning, "failed", resources, error: error);
    }

    public void Stop(long trialId, string reason, TrialResources? resources = null)
    {
        ArgumentNullException.ThrowIfNull(reason);
        Finish(trialId, "stop", Running, "stopped", resources, error: reason);
    }

    /// <summary>Ends a trial with <paramref name="status"/>. <paramref name="metricSql"/> null keeps its metric,
    /// <paramref name="error"/> null its error, and each resource left out what the trial had (its duration: the time
    /// since it started).</summary>
    private void Finish(long trialId, string verb, string condition, string status, TrialResources? resources,
        string? metricSql = null, double? metric = null, string? error = null)
    {
        List<string> set = ["status = @s", "ended_at = @t",
            resources?.DurationSeconds is null ? $"duration_seconds = {SecondsBetween("started_at", "@t")}" : "duration_seconds = @d"];
        if (metricSql is not null) set.Add($"metric = {metricSql}");
        if (error is not null) set.Add("error = @err");
        if (resources?.PeakMemoryBytes is not null) set.Add("peak_memory_bytes = @mem");
        if (resources?.PeakGpuMemoryBytes is not null) set.Add("peak_gpu_memory_bytes = @gpu");
        if (resources?.Precision is not null) set.Add("precision = @prec");
        Update(trialId, verb, condition, set, ("@s", status), ("@t", Now()), ("@m", metric), ("@err", error), ("@d", resources?.DurationSeconds),
            ("@mem", resources?.PeakMemoryBytes), ("@gpu", resources?.PeakGpuMemoryBytes), ("@prec", resources?.Precision));
    }

    private static double? Finite(double? v) => v is double d && double.IsFinite(d) ? d : null;

    public TrialRecord? GetTrial(long trialId) => Run(c => GetTrial(c, trialId));

    private static TrialRecord? GetTrial(DbConnection c, long trialId) =>
        c.Read($"SELECT {TrialColumns} FROM automl_trials WHERE id = @id", ReadTrial, ("@id", trialId)).SingleOrDefault();

    public IReadOnlyList<TrialRecord> ListTrials(string experiment) =>
        Run(c => c.Read($"SELECT {TrialColumns} FROM automl_trials WHERE experiment = @e ORDER BY id", ReadTrial, ("@e", experiment)));

    public int Resume(string experiment, string? workerId = null, TimeSpan? staleAfter = null)
    {
        CheckName(experiment);
        var now = time.GetUtcNow();
        string note = $"'rerun: worker ' || COALESCE(worker_id, '?') || ' stopped during attempt ' || attempts || ' after ' || {ArrayLength("epochs")}"
            + " || ' epoch(s) (requeued ' || @ts || ')'";
        string which = (workerId is null ? "" : " AND worker_id = @w") + (staleAfter is null ? "" : " AND (heartbeat_at IS NULL OR heartbeat_at < @cut)");
        return Run(c => c.Exec($"""
            UPDATE automl_trials SET status = 'pending', retries = {AppendString("retries", note)},
                worker_id = NULL, started_at = NULL, heartbeat_at = NULL, epochs = '[]'
            WHERE experiment = @e AND status = 'running'{which}
            """, ("@e", experiment), ("@w", workerId), ("@ts", StoreJson.Timestamp(now)),
            ("@cut", staleAfter is TimeSpan s ? Timestamp(now - s) : null)));
    }

    // --- plumbing ---

    private const string Running = "status = 'running'", PendingOrRunning = "status IN ('pending', 'running')";

    /// <summary>Sets <paramref name="set"/> on the trial when <paramref name="condition"/> holds; otherwise says why not.</summary>
    private void Update(long trialId, string verb, string condition, IEnumerable<string> set, params (string, object?)[] ps)
    {
        Run(c =>
        {
            if (c.Exec($"UPDATE automl_trials SET {string.Join(", ", set)} WHERE id = @id AND {condition}", [("@id", trialId), .. ps]) == 1) return 0;
            var t = GetTrial(c, trialId) ?? throw NotFound(trialId);
            throw new TrialStoreException($"Cannot {verb} trial {trialId}: it is {StoreJson.Status(t.Status)}{(t.Status == TrialStatus.Pending ? " (requeued?)" : "")}, not {(condition == PendingOrRunning ? "pending or running" : "running")}.");
        });
    }

    private T Run<T>(Func<DbConnection, T> body)
    {
        try
        {
            using var c = Open();
            return body(c);
        }
        catch (DbException e) { throw Error(e); }
    }

    private object Now() => Timestamp(time.GetUtcNow());

    private static void CheckName(string name, string what = "experiment name")
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException($"The {what} must not be empty.");
    }

    private static TrialStoreException NoExperiment(string experiment) =>
        new($"There is no experiment named '{experiment}' in the trial store; create it first (CreateExperiment).");

    private static TrialStoreException NotFound(long trialId) => new($"There is no trial {trialId} in the trial store.");
}

