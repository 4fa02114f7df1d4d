using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace MlNetLlm.AutoMl;

/// <summary>
/// A trial store in one SQLite file (the default). WAL journal, synchronous=FULL and one auto-committed statement per
/// operation: every call is durable when it returns, so a worker killed with SIGKILL loses nothing it had written.
/// Safe for several threads and for several processes on one machine (claims are a single atomic UPDATE); for
/// workers on several machines use <see cref="PostgresTrialStore"/>.
/// </summary>
public sealed class SqliteTrialStore : ITrialStore
{
    internal const int SchemaVersion = 1;
    private const string Columns = "id, experiment, parameters, status, epochs, metric, error, duration_seconds, peak_memory_bytes, " +
        "peak_gpu_memory_bytes, worker_id, created_at, started_at, ended_at, heartbeat_at, attempts, retries, precision";

    private readonly string connectionString;
    private readonly TimeProvider time;

    /// <summary>Opens (creating if needed) the store at <paramref name="path"/>. Throws <see cref="TrialStoreException"/>
    /// when the file is not a SQLite database or is a database of something else.</summary>
    public SqliteTrialStore(string path, TimeProvider? time = null)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("The SQLite trial store needs a file path.", nameof(path));
        Path = System.IO.Path.GetFullPath(path);
        this.time = time ?? TimeProvider.System;
        if (Directory.Exists(Path)) throw new TrialStoreException($"Cannot open the SQLite trial store '{Path}': it is a directory.");
        string? dir = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 60, // seconds to wait for another writer's lock
        }.ToString();
        Initialize();
    }

    public string Path { get; }

    public string Description => $"SQLite {Path}";

    private void Initialize()
    {
        Run(c =>
        {
            Exec(c, "PRAGMA journal_mode=WAL;");
            using var tx = c.BeginTransaction(deferred: false);
            var tables = new List<string>();
            using (var cmd = Cmd(c, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
            using (var r = cmd.ExecuteReader())
                while (r.Read()) tables.Add(r.GetString(0));
            if (tables.Count > 0 && !tables.Contains("automl_meta"))
                throw new TrialStoreException($"'{Path}' is a SQLite database but not an MlNetLlm trial store (it has tables {string.Join(", ", tables)}); choose another file.");
            Exec(c, """
                CREATE TABLE IF NOT EXISTS automl_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS automl_experiments(name TEXT PRIMARY KEY, settings TEXT NOT NULL, created_at TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS automl_trials(
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    experiment TEXT NOT NULL REFERENCES automl_experiments(name),
                    parameters TEXT NOT NULL,
                    status TEXT NOT NULL,
                    epochs TEXT NOT NULL DEFAULT '[]',
                    metric REAL,
                    error TEXT,
                    duration_seconds REAL,
                    peak_memory_bytes INTEGER,
                    peak_gpu_memory_bytes INTEGER,
                    worker_id TEXT,
                    created_at TEXT NOT NULL,
                    started_at TEXT,
                    ended_at TEXT,
                    heartbeat_at TEXT,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    retries TEXT NOT NULL DEFAULT '[]',
                    precision TEXT);
                CREATE INDEX IF NOT EXISTS automl_trials_claim ON automl_trials(experiment, status, id);
                """);
            // Added after version 1 was in use: stores made before get the column (older readers name their columns, so
            // the store stays readable by them and keeps its version).
            bool hasPrecision;
            using (var cmd = Cmd(c, "SELECT COUNT(*) FROM pragma_table_info('automl_trials') WHERE name = 'precision'"))
                hasPrecision = (long)cmd.ExecuteScalar()! > 0;
            if (!hasPrecision) Exec(c, "ALTER TABLE automl_trials ADD COLUMN precision TEXT");
            using (var cmd = Cmd(c, "INSERT OR IGNORE INTO automl_meta(key, value) VALUES('schema_version', @v)", ("@v", SchemaVersion.ToString())))
                cmd.ExecuteNonQuery();
            using (var cmd = Cmd(c, "SELECT value FROM automl_meta WHERE key = 'schema_version'"))
            {
                string v = (string)cmd.ExecuteScalar()!;
                if (v != SchemaVersion.ToString())
                    throw new TrialStoreException($"'{Path}' is a trial store of schema version {v}; this version of MlNetLlm reads version {SchemaVersion}.");
            }
            tx.Commit();
            return 0;
        });
    }

    public ExperimentRecord CreateExperiment(string name, string settingsJson)
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(settingsJson);
        return Run(c =>
        {
            using (var cmd = Cmd(c, "INSERT OR IGNORE INTO automl_experiments(name, settings, created_at) VALUES(@n, @s, @t)",
                ("@n", name), ("@s", settingsJson), ("@t", Now())))
                cmd.ExecuteNonQuery();
            return GetExperiment(c, name)!;
        });
    }

    public ExperimentRecord? GetExperiment(string name) => Run(c => GetExperiment(c, name));

    private static ExperimentRecord? GetExperiment(SqliteConnection c, string name)
    {
        using var cmd = Cmd(c, "SELECT name, settings, created_at FROM automl_experiments WHERE name = @n", ("@n", name));
        using var r = cmd.ExecuteReader();
        return r.Read() ? new ExperimentRecord(r.GetString(0), r.GetString(1), StoreJson.ParseTimestamp(r.GetString(2))) : null;
    }

    public IReadOnlyList<ExperimentRecord> ListExperiments() => Run(c =>
    {
        using var cmd = Cmd(c, "SELECT name, settings, created_at FROM automl_experiments ORDER BY created_at, name");
        using var r = cmd.ExecuteReader();
        var list = new List<ExperimentRecord>();
        while (r.Read()) list.Add(new ExperimentRecord(r.GetString(0), r.GetString(1), StoreJson.ParseTimestamp(r.GetString(2))));
        return list;
    });

    public long AddTrial(string experiment, ParameterSet parameters)
    {
        CheckName(experiment);
        ArgumentNullException.ThrowIfNull(parameters);
        return Run(c => Insert(c, experiment, parameters));
    }

    private long Insert(SqliteConnection c, string experiment, ParameterSet parameters)
    {
        using var cmd = Cmd(c, """
            INSERT INTO automl_trials(experiment, parameters, status, created_at)
            SELECT @e, @p, 'pending', @t WHERE EXISTS(SELECT 1 FROM automl_experiments WHERE name = @e)
            RETURNING id
            """, ("@e", experiment), ("@p", parameters.ToJson()), ("@t", Now()));
        return cmd.ExecuteScalar() is long id ? id : throw NoExperiment(experiment);
    }

    public long? AddTrialIfNew(string experiment, ParameterSet parameters)
    {
        CheckName(experiment);
        ArgumentNullException.ThrowIfNull(parameters);
        return Run(c =>
        {
            using var tx = c.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: one writer at a time, across processes
            using (var cmd = Cmd(c, "SELECT parameters FROM automl_trials WHERE experiment = @e", ("@e", experiment)))
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
        return Run(c =>
        {
            string now = Now();
            using var cmd = Cmd(c, $"""
                UPDATE automl_trials SET status = 'running', worker_id = @w, started_at = @t, heartbeat_at = @t, attempts = attempts + 1
                WHERE id = (SELECT id FROM automl_trials WHERE experiment = @e AND status = 'pending' ORDER BY id LIMIT 1) AND status = 'pending'
                RETURNING {Columns}
                """, ("@e", experiment), ("@w", workerId), ("@t", now));
            using var r = cmd.ExecuteReader();
            return r.Read() ? ReadTrial(r) : null;
        });
    }

    public bool TryStart(long trialId, string workerId)
    {
        CheckName(workerId, "worker id");
        return Run(c =>
        {
            using var cmd = Cmd(c, """
                UPDATE automl_trials SET status = 'running', worker_id = @w, started_at = @t, heartbeat_at = @t, attempts = attempts + 1
                WHERE id = @id AND status = 'pending'
                """, ("@id", trialId), ("@w", workerId), ("@t", Now()));
            if (cmd.ExecuteNonQuery() == 1) return true;
            _ = GetTrial(c, trialId) ?? throw NotFound(trialId);
            return false;
        });
    }

    public void ReportEpoch(long trialId, EpochMetric epoch)
    {
        ArgumentNullException.ThrowIfNull(epoch);
        UpdateRunning(trialId, "report an epoch of", "epochs = json_insert(epochs, '$[#]', json(@j)), heartbeat_at = @t",
            ("@j", StoreJson.Epoch(epoch)), ("@t", Now()));
    }

    public void Heartbeat(long trialId) => UpdateRunning(trialId, "refresh the heartbeat of", "heartbeat_at = @t", ("@t", Now()));

    public void AddRetry(long trialId, string note, ParameterSet? newParameters = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(note);
        Update(trialId, "add a retry note to", "status IN ('pending', 'running')",
            "retries = json_insert(retries, '$[#]', @n), parameters = COALESCE(@p, parameters)",
            ("@n", note), ("@p", newParameters?.ToJson()));
    }

    public void Complete(long trialId, double metric, TrialResources? resources = null) =>
        Finish(trialId, "complete", "status = 'running'", "completed", "@m", null, resources, ("@m", Nullable(metric)));

    public void Prune(long trialId, double? metric = null, TrialResources? resources = null) =>
        Finish(trialId, "prune", "status = 'running'", "pruned", "COALESCE(@m, json_extract(epochs, '$[#-1].metric'))", null, resources,
            ("@m", metric is double m ? Nullable(m) : null));

    public void Fail(long trialId, string error, TrialResources? resources = null)
    {
        ArgumentNullException.ThrowIfNull(error);
        Finish(trialId, "fail", "status IN ('pending', 'running')", "failed", "metric", error, resources);
    }

    public void Stop(long trialId, string reason, TrialResources? resources = null)
    {
        ArgumentNullException.ThrowIfNull(reason);
        Finish(trialId, "stop", "status = 'running'", "stopped", "metric", reason, resources);
    }

    private void Finish(long trialId, string verb, string condition, string status, string metricSql, string? error, TrialResources? resources,
        params (string, object?)[] extra)
    {
        var ps = new List<(string, object?)>(extra)
        {
            ("@s", status), ("@err", error), ("@t", Now()),
            ("@d", resources?.DurationSeconds), ("@mem", resources?.PeakMemoryBytes), ("@gpu", resources?.PeakGpuMemoryBytes), ("@prec", resources?.Precision),
        };
        Update(trialId, verb, condition, $"""
            status = @s, metric = {metricSql}, error = COALESCE(@err, error), ended_at = @t,
            duration_seconds = COALESCE(@d, CASE WHEN started_at IS NULL THEN NULL ELSE (julianday(@t) - julianday(started_at)) * 86400.0 END),
            peak_memory_bytes = COALESCE(@mem, peak_memory_bytes), peak_gpu_memory_bytes = COALESCE(@gpu, peak_gpu_memory_bytes),
            precision = COALESCE(@prec, precision)
            """, ps.ToArray());
    }

    public TrialRecord? GetTrial(long trialId) => Run(c => GetTrial(c, trialId));

    private static TrialRecord? GetTrial(SqliteConnection c, long trialId)
    {
        using var cmd = Cmd(c, $"SELECT {Columns} FROM automl_trials WHERE id = @id", ("@id", trialId));
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadTrial(r) : null;
    }

    public IReadOnlyList<TrialRecord> ListTrials(string experiment) => Run(c =>
    {
        using var cmd = Cmd(c, $"SELECT {Columns} FROM automl_trials WHERE experiment = @e ORDER BY id", ("@e", experiment));
        using var r = cmd.ExecuteReader();
        var list = new List<TrialRecord>();
        while (r.Read()) list.Add(ReadTrial(r));
        return list;
    });

    public int Resume(string experiment, string? workerId = null, TimeSpan? staleAfter = null)
    {
        CheckName(experiment);
        var now = time.GetUtcNow();
        return Run(c =>
        {
            using var cmd = Cmd(c, """
                UPDATE automl_trials SET status = 'pending',
                    retries = json_insert(retries, '$[#]', 'rerun: worker ' || COALESCE(worker_id, '?') || ' stopped during attempt ' || attempts
                        || ' after ' || json_array_length(epochs) || ' epoch(s) (requeued ' || @t || ')'),
                    worker_id = NULL, started_at = NULL, heartbeat_at = NULL, epochs = '[]'
                WHERE experiment = @e AND status = 'running' AND (@w IS NULL OR worker_id = @w) AND (@cut IS NULL OR heartbeat_at IS NULL OR heartbeat_at < @cut)
                """, ("@e", experiment), ("@w", workerId), ("@t", StoreJson.Timestamp(now)),
                ("@cut", staleAfter is TimeSpan s ? StoreJson.Timestamp(now - s) : null));
            return cmd.ExecuteNonQuery();
        });
    }

    public void Dispose()
    {
        // Release pooled file handles so the file can be moved or deleted.
        using var c = new SqliteConnection(connectionString);
        SqliteConnection.ClearPool(c);
    }

    // --- plumbing ---

    private void UpdateRunning(long trialId, string verb, string set, params (string, object?)[] ps) =>
        Update(trialId, verb, "status = 'running'", set, ps);

    private void Update(long trialId, string verb, string condition, string set, params (string, object?)[] ps)
    {
        Run(c =>
        {
            using var cmd = Cmd(c, $"UPDATE automl_trials SET {set} WHERE id = @id AND {condition}", [("@id", trialId), .. ps]);
            if (cmd.ExecuteNonQuery() == 1) return 0;
            var t = GetTrial(c, trialId) ?? throw NotFound(trialId);
            throw new TrialStoreException($"Cannot {verb} trial {trialId}: it is {StoreJson.Status(t.Status)}{(t.Status == TrialStatus.Pending ? " (requeued?)" : "")}, not {(condition.Contains("pending") ? "pending or running" : "running")}.");
        });
    }

    private T Run<T>(Func<SqliteConnection, T> body)
    {
        try
        {
            using var c = new SqliteConnection(connectionString);
            c.Open();
            Exec(c, "PRAGMA synchronous=FULL;");
            return body(c);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 26) // SQLITE_NOTADB
        {
            throw new TrialStoreException($"'{Path}' is not a SQLite database ({e.Message}); give a new or existing trial store file.", e);
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 14 or 23) // SQLITE_CANTOPEN, SQLITE_AUTH
        {
            throw new TrialStoreException($"Cannot open the SQLite trial store '{Path}': {e.Message}", e);
        }
        catch (SqliteException e)
        {
            throw new TrialStoreException($"SQLite trial store '{Path}': {e.Message}", e);
        }
    }

    private static void Exec(SqliteConnection c, string sql)
    {
        using var cmd = Cmd(c, sql);
        cmd.ExecuteNonQuery();
    }

    private static SqliteCommand Cmd(SqliteConnection c, string sql, params (string Name, object? Value)[] ps)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in ps) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    private string Now() => StoreJson.Timestamp(time.GetUtcNow());

    private static object? Nullable(double v) => double.IsFinite(v) ? v : null;

    internal static TrialRecord ReadTrial(DbDataReader r)
    {
        string? Str(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        double? Dbl(int i) => r.IsDBNull(i) ? null : r.GetDouble(i);
        long? Lng(int i) => r.IsDBNull(i) ? null : r.GetInt64(i);
        DateTimeOffset? Time(int i) => r.IsDBNull(i) ? null : r.GetValue(i) switch
        {
            string s => StoreJson.ParseTimestamp(s),
            DateTime d => new DateTimeOffset(DateTime.SpecifyKind(d, DateTimeKind.Utc)),
            DateTimeOffset o => o,
            var v => throw new TrialStoreException($"Unexpected timestamp {v} in the store."),
        };
        return new TrialRecord
        {
            Id = r.GetInt64(0),
            Experiment = r.GetString(1),
            Parameters = ParameterSet.FromJson(r.GetString(2)),
            Status = StoreJson.ParseStatus(r.GetString(3)),
            Epochs = StoreJson.Epochs(Str(4)),
            Metric = Dbl(5),
            Error = Str(6),
            DurationSeconds = Dbl(7),
            PeakMemoryBytes = Lng(8),
            PeakGpuMemoryBytes = Lng(9),
            WorkerId = Str(10),
            CreatedAt = Time(11) ?? default,
            StartedAt = Time(12),
            EndedAt = Time(13),
            HeartbeatAt = Time(14),
            Attempts = Convert.ToInt32(r.GetValue(15)),
            Retries = StoreJson.Strings(Str(16)),
            Precision = Str(17),
        };
    }

    internal static void CheckName(string name, string what = "experiment name")
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException($"The {what} must not be empty.");
    }

    internal static TrialStoreException NoExperiment(string experiment) =>
        new($"There is no experiment named '{experiment}' in the trial store; create it first (CreateExperiment).");

    internal static TrialStoreException NotFound(long trialId) => new($"There is no trial {trialId} in the trial store.");
}
