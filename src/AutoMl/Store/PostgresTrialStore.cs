using System.Net.Sockets;
using Npgsql;

namespace MlNetLlm.AutoMl;

/// <summary>
/// A trial store in a PostgreSQL database, for several worker processes or machines running trials of one experiment
/// at once. Claims use <c>UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING …</c>, so no two
/// workers get the same trial and none waits on another. Each operation is one auto-committed statement. Tables
/// (<c>automl_meta</c>, <c>automl_experiments</c>, <c>automl_trials</c>) are created on first use.
/// </summary>
public sealed class PostgresTrialStore : ITrialStore
{
    private const string Columns = "id, experiment, parameters, status, epochs::text, metric, error, duration_seconds, peak_memory_bytes, " +
        "peak_gpu_memory_bytes, worker_id, created_at, started_at, ended_at, heartbeat_at, attempts, retries::text, precision";
    private const long SchemaLockKey = 0x4D4C4E45544C4C4D; // pg_advisory_xact_lock key serializing schema creation

    private readonly NpgsqlDataSource dataSource;
    private readonly TimeProvider time;
    private readonly string host, database, user;
    private readonly int port;

    /// <summary>Connects to the database given by <paramref name="connection"/> — a keyword connection string
    /// (<c>Host=…;Port=…;Username=…;Password=…;Database=…</c>) or a URL (<c>postgres://user:pass@host:port/db</c>) —
    /// and creates the tables if needed. Throws <see cref="TrialStoreException"/> naming host and port when the server
    /// cannot be reached.</summary>
    public PostgresTrialStore(string connection, TimeProvider? time = null)
    {
        if (string.IsNullOrWhiteSpace(connection)) throw new ArgumentException("The PostgreSQL trial store needs a connection string.", nameof(connection));
        var builder = ParseConnectionString(connection);
        host = string.IsNullOrEmpty(builder.Host) ? "localhost" : builder.Host;
        port = builder.Port;
        database = builder.Database ?? builder.Username ?? "";
        user = builder.Username ?? "";
        this.time = time ?? TimeProvider.System;
        dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        try { Initialize(); }
        catch { dataSource.Dispose(); throw; }
    }

    public string Description => $"PostgreSQL {host}:{port}/{database} (user {user})";

    /// <summary>Keyword connection string or postgres:// / postgresql:// URL → Npgsql builder.</summary>
    public static NpgsqlConnectionStringBuilder ParseConnectionString(string connection)
    {
        connection = connection.Trim();
        if (!connection.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) && !connection.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            try { return new NpgsqlConnectionStringBuilder(connection); }
            catch (ArgumentException e) { throw new ArgumentException($"Not a valid PostgreSQL connection string: {e.Message}", nameof(connection), e); }
        }
        if (!Uri.TryCreate(connection, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
            throw new ArgumentException($"Not a valid PostgreSQL URL (expected postgres://user:password@host:port/database): '{Redact(connection)}'.", nameof(connection));
        var b = new NpgsqlConnectionStringBuilder { Host = uri.Host, Port = uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port };
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            string[] parts = uri.UserInfo.Split(':', 2);
            b.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length > 1) b.Password = Uri.UnescapeDataString(parts[1]);
        }
        string db = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (db.Length > 0) b.Database = db;
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = pair.Split('=', 2);
            string key = Uri.UnescapeDataString(kv[0]), value = kv.Length > 1 ? Uri.UnescapeDataString(kv[1]) : "";
            key = key.ToLowerInvariant() switch { "sslmode" => "SSL Mode", "connect_timeout" => "Timeout", "application_name" => "Application Name", _ => key };
            try { b[key] = value; }
            catch (ArgumentException e) { throw new ArgumentException($"PostgreSQL URL option '{kv[0]}': {e.Message}", nameof(connection), e); }
        }
        return b;
    }

    private static string Redact(string url) => System.Text.RegularExpressions.Regex.Replace(url, "://([^:/@]*):[^@]*@", "://$1:***@");

    private void Initialize()
    {
        Run(c =>
        {
            using var tx = c.BeginTransaction();
            Exec(c, "SELECT pg_advisory_xact_lock(@k)", ("k", SchemaLockKey));
            Exec(c, """
                CREATE TABLE IF NOT EXISTS automl_meta(key text PRIMARY KEY, value text NOT NULL);
                CREATE TABLE IF NOT EXISTS automl_experiments(name text PRIMARY KEY, settings text NOT NULL, created_at timestamptz NOT NULL);
                CREATE TABLE IF NOT EXISTS automl_trials(
                    id bigserial PRIMARY KEY,
                    experiment text NOT NULL REFERENCES automl_experiments(name),
                    parameters text NOT NULL,
                    status text NOT NULL,
                    epochs jsonb NOT NULL DEFAULT '[]',
                    metric double precision,
                    error text,
                    duration_seconds double precision,
                    peak_memory_bytes bigint,
                    peak_gpu_memory_bytes bigint,
                    worker_id text,
                    created_at timestamptz NOT NULL,
                    started_at timestamptz,
                    ended_at timestamptz,
                    heartbeat_at timestamptz,
                    attempts integer NOT NULL DEFAULT 0,
                    retries jsonb NOT NULL DEFAULT '[]');
                -- Added after schema version 1 was in use; older readers name their columns, so the version stays.
                ALTER TABLE automl_trials ADD COLUMN IF NOT EXISTS precision text;
                CREATE INDEX IF NOT EXISTS automl_trials_claim ON automl_trials(experiment, status, id);
                INSERT INTO automl_meta(key, value) VALUES('schema_version', '1') ON CONFLICT (key) DO NOTHING;
                """);
            using (var cmd = Cmd(c, "SELECT value FROM automl_meta WHERE key = 'schema_version'"))
            {
                string v = (string)cmd.ExecuteScalar()!;
                if (v != SqliteTrialStore.SchemaVersion.ToString())
                    throw new TrialStoreException($"{Description} holds a trial store of schema version {v}; this version of MlNetLlm reads version {SqliteTrialStore.SchemaVersion}.");
            }
            tx.Commit();
            return 0;
        });
    }

    public ExperimentRecord CreateExperiment(string name, string settingsJson)
    {
        SqliteTrialStore.CheckName(name);
        ArgumentNullException.ThrowIfNull(settingsJson);
        return Run(c =>
        {
            Exec(c, "INSERT INTO automl_experiments(name, settings, created_at) VALUES(@n, @s, @t) ON CONFLICT (name) DO NOTHING",
                ("n", name), ("s", settingsJson), ("t", time.GetUtcNow()));
            return GetExperiment(c, name)!;
        });
    }

    public ExperimentRecord? GetExperiment(string name) => Run(c => GetExperiment(c, name));

    private static ExperimentRecord? GetExperiment(NpgsqlConnection c, string name)
    {
        using var cmd = Cmd(c, "SELECT name, settings, created_at FROM automl_experiments WHERE name = @n", ("n", name));
        using var r = cmd.ExecuteReader();
        return r.Read() ? new ExperimentRecord(r.GetString(0), r.GetString(1), r.GetFieldValue<DateTimeOffset>(2)) : null;
    }

    public IReadOnlyList<ExperimentRecord> ListExperiments() => Run(c =>
    {
        using var cmd = Cmd(c, "SELECT name, settings, created_at FROM automl_experiments ORDER BY created_at, name");
        using var r = cmd.ExecuteReader();
        var list = new List<ExperimentRecord>();
        while (r.Read()) list.Add(new ExperimentRecord(r.GetString(0), r.GetString(1), r.GetFieldValue<DateTimeOffset>(2)));
        return list;
    });

    public long AddTrial(string experiment, ParameterSet parameters)
    {
        SqliteTrialStore.CheckName(experiment);
        ArgumentNullException.ThrowIfNull(parameters);
        return Run(c => Insert(c, experiment, parameters));
    }

    private long Insert(NpgsqlConnection c, string experiment, ParameterSet parameters)
    {
        using var cmd = Cmd(c, """
            INSERT INTO automl_trials(experiment, parameters, status, created_at)
            SELECT @e, @p, 'pending', @t WHERE EXISTS(SELECT 1 FROM automl_experiments WHERE name = @e)
            RETURNING id
            """, ("e", experiment), ("p", parameters.ToJson()), ("t", time.GetUtcNow()));
        return cmd.ExecuteScalar() is long id ? id : throw SqliteTrialStore.NoExperiment(experiment);
    }

    public long? AddTrialIfNew(string experiment, ParameterSet parameters)
    {
        SqliteTrialStore.CheckName(experiment);
        ArgumentNullException.ThrowIfNull(parameters);
        return Run(c =>
        {
            // Read committed alone would let two workers both see "absent": an advisory lock per experiment serializes
            // the check and the insert (released at commit).
            using var tx = c.BeginTransaction();
            Exec(c, "SELECT pg_advisory_xact_lock(hashtext('automl_trials:' || @e))", ("e", experiment));
            using (var cmd = Cmd(c, "SELECT parameters FROM automl_trials WHERE experiment = @e", ("e", experiment)))
            using (var r = cmd.ExecuteReader())
                if (StoreJson.AnySameParameters(r, parameters)) return (long?)null;
            long id = Insert(c, experiment, parameters);
            tx.Commit();
            return id;
        });
    }

    public TrialRecord? ClaimNext(string experiment, string workerId)
    {
        SqliteTrialStore.CheckName(experiment);
        SqliteTrialStore.CheckName(workerId, "worker id");
        return Run(c =>
        {
            using var cmd = Cmd(c, $"""
                UPDATE automl_trials SET status = 'running', worker_id = @w, started_at = @t, heartbeat_at = @t, attempts = attempts + 1
                WHERE id = (SELECT id FROM automl_trials WHERE experiment = @e AND status = 'pending' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                  AND status = 'pending'
                RETURNING {Columns}
                """, ("e", experiment), ("w", workerId), ("t", time.GetUtcNow()));
            using var r = cmd.ExecuteReader();
            return r.Read() ? SqliteTrialStore.ReadTrial(r) : null;
        });
    }

    public bool TryStart(long trialId, string workerId)
    {
        SqliteTrialStore.CheckName(workerId, "worker id");
        return Run(c =>
        {
            using var cmd = Cmd(c, """
                UPDATE automl_trials SET status = 'running', worker_id = @w, started_at = @t, heartbeat_at = @t, attempts = attempts + 1
                WHERE id = @id AND status = 'pending'
                """, ("id", trialId), ("w", workerId), ("t", time.GetUtcNow()));
            if (cmd.ExecuteNonQuery() == 1) return true;
            _ = GetTrial(c, trialId) ?? throw SqliteTrialStore.NotFound(trialId);
            return false;
        });
    }

    public void ReportEpoch(long trialId, EpochMetric epoch)
    {
        ArgumentNullException.ThrowIfNull(epoch);
        Update(trialId, "report an epoch of", "status = 'running'", "epochs = epochs || jsonb_build_array(@j::jsonb), heartbeat_at = @t",
            ("j", StoreJson.Epoch(epoch)), ("t", time.GetUtcNow()));
    }

    public void Heartbeat(long trialId) => Update(trialId, "refresh the heartbeat of", "status = 'running'", "heartbeat_at = @t", ("t", time.GetUtcNow()));

    public void AddRetry(long trialId, string note, ParameterSet? newParameters = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(note);
        Update(trialId, "add a retry note to", "status IN ('pending', 'running')",
            "retries = retries || jsonb_build_array(@n::text), parameters = COALESCE(@p::text, parameters)",
            ("n", note), ("p", newParameters?.ToJson()));
    }

    public void Complete(long trialId, double metric, TrialResources? resources = null) =>
        Finish(trialId, "complete", "status = 'running'", "completed", "@m::float8", null, resources, ("m", double.IsFinite(metric) ? metric : null));

    public void Prune(long trialId, double? metric = null, TrialResources? resources = null) =>
        Finish(trialId, "prune", "status = 'running'", "pruned", "COALESCE(@m::float8, (epochs->-1->>'metric')::float8)", null, resources,
            ("m", metric is double m && double.IsFinite(m) ? m : null));

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
            ("s", status), ("err", error), ("t", time.GetUtcNow()),
            ("d", resources?.DurationSeconds), ("mem", resources?.PeakMemoryBytes), ("gpu", resources?.PeakGpuMemoryBytes), ("prec", resources?.Precision),
        };
        Update(trialId, verb, condition, $"""
            status = @s, metric = {metricSql}, error = COALESCE(@err::text, error), ended_at = @t,
            duration_seconds = COALESCE(@d::float8, EXTRACT(EPOCH FROM (@t - started_at))::float8),
            peak_memory_bytes = COALESCE(@mem::bigint, peak_memory_bytes), peak_gpu_memory_bytes = COALESCE(@gpu::bigint, peak_gpu_memory_bytes),
            precision = COALESCE(@prec::text, precision)
            """, ps.ToArray());
    }

    public TrialRecord? GetTrial(long trialId) => Run(c => GetTrial(c, trialId));

    private static TrialRecord? GetTrial(NpgsqlConnection c, long trialId)
    {
        using var cmd = Cmd(c, $"SELECT {Columns} FROM automl_trials WHERE id = @id", ("id", trialId));
        using var r = cmd.ExecuteReader();
        return r.Read() ? SqliteTrialStore.ReadTrial(r) : null;
    }

    public IReadOnlyList<TrialRecord> ListTrials(string experiment) => Run(c =>
    {
        using var cmd = Cmd(c, $"SELECT {Columns} FROM automl_trials WHERE experiment = @e ORDER BY id", ("e", experiment));
        using var r = cmd.ExecuteReader();
        var list = new List<TrialRecord>();
        while (r.Read()) list.Add(SqliteTrialStore.ReadTrial(r));
        return list;
    });

    public int Resume(string experiment, string? workerId = null, TimeSpan? staleAfter = null)
    {
        SqliteTrialStore.CheckName(experiment);
        var now = time.GetUtcNow();
        return Run(c =>
        {
            using var cmd = Cmd(c, """
                UPDATE automl_trials SET status = 'pending',
                    retries = retries || jsonb_build_array('rerun: worker ' || COALESCE(worker_id, '?') || ' stopped during attempt ' || attempts
                        || ' after ' || jsonb_array_length(epochs) || ' epoch(s) (requeued ' || @ts || ')'),
                    worker_id = NULL, started_at = NULL, heartbeat_at = NULL, epochs = '[]'
                WHERE experiment = @e AND status = 'running' AND (@w::text IS NULL OR worker_id = @w::text)
                  AND (@cut::timestamptz IS NULL OR heartbeat_at IS NULL OR heartbeat_at < @cut::timestamptz)
                """, ("e", experiment), ("w", workerId), ("ts", StoreJson.Timestamp(now)),
                ("cut", staleAfter is TimeSpan s ? now - s : null));
            return cmd.ExecuteNonQuery();
        });
    }

    public void Dispose() => dataSource.Dispose();

    // --- plumbing ---

    private void Update(long trialId, string verb, string condition, string set, params (string, object?)[] ps)
    {
        Run(c =>
        {
            using var cmd = Cmd(c, $"UPDATE automl_trials SET {set} WHERE id = @id AND {condition}", [("id", trialId), .. ps]);
            if (cmd.ExecuteNonQuery() == 1) return 0;
            var t = GetTrial(c, trialId) ?? throw SqliteTrialStore.NotFound(trialId);
            throw new TrialStoreException($"Cannot {verb} trial {trialId}: it is {StoreJson.Status(t.Status)}{(t.Status == TrialStatus.Pending ? " (requeued?)" : "")}, not {(condition.Contains("pending") ? "pending or running" : "running")}.");
        });
    }

    private T Run<T>(Func<NpgsqlConnection, T> body)
    {
        NpgsqlConnection c;
        try { c = dataSource.OpenConnection(); }
        catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException or InvalidOperationException)
        {
            string why = e is PostgresException pg ? $"{pg.SqlState}: {pg.MessageText}" : e.InnerException is { } inner ? $"{e.Message} ({inner.Message})" : e.Message;
            throw new TrialStoreException($"Cannot connect to PostgreSQL at {host}:{port} (database '{database}', user '{user}'): {why}", e);
        }
        using (c)
        {
            try { return body(c); }
            catch (PostgresException e)
            {
                throw new TrialStoreException($"PostgreSQL trial store at {host}:{port}/{database}: {e.SqlState}: {e.MessageText}", e);
            }
            catch (NpgsqlException e)
            {
                throw new TrialStoreException($"PostgreSQL trial store at {host}:{port}/{database}: {e.Message}", e);
            }
        }
    }

    private static void Exec(NpgsqlConnection c, string sql, params (string, object?)[] ps)
    {
        using var cmd = Cmd(c, sql, ps);
        cmd.ExecuteNonQuery();
    }

    private static NpgsqlCommand Cmd(NpgsqlConnection c, string sql, params (string Name, object? Value)[] ps)
    {
        var cmd = new NpgsqlCommand(sql, c);
        foreach (var (name, value) in ps)
        {
            // Typed nulls: an untyped null parameter leaves PostgreSQL unable to infer its type.
            var p = value is null ? new NpgsqlParameter(name, NpgsqlTypes.NpgsqlDbType.Text) { Value = DBNull.Value } : new NpgsqlParameter(name, value);
            cmd.Parameters.Add(p);
        }
        return cmd;
    }
}
