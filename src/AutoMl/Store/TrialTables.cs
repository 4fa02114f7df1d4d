using System.Data.Common;

namespace MlNetLlm.AutoMl;

/// <summary>The column types of the trial store's schema in one database's names.</summary>
internal sealed record SqlTypes(string Id, string Text, string Real, string Int, string BigInt, string Json, string Time);

/// <summary>The trial store's tables, the same in every database but for the column types: created and upgraded in
/// place, and their rows read back as records.</summary>
internal static class TrialTables
{
    public const int SchemaVersion = 1;

    /// <summary>The columns of automl_trials in the order <see cref="ReadTrial"/> reads them.</summary>
    public const string TrialColumns = "id, experiment, parameters, status, epochs, metric, error, duration_seconds, peak_memory_bytes, " +
        "peak_gpu_memory_bytes, worker_id, created_at, started_at, ended_at, heartbeat_at, attempts, retries, precision";

    /// <summary>Creates the tables if needed and upgrades old ones; the caller holds the schema lock. Throws when the
    /// store is of another schema version.</summary>
    public static void CreateOrUpgrade(DbConnection c, SqlTypes t, string description)
    {
        c.Exec($"""
            CREATE TABLE IF NOT EXISTS automl_meta(key {t.Text} PRIMARY KEY, value {t.Text} NOT NULL);
            CREATE TABLE IF NOT EXISTS automl_experiments(name {t.Text} PRIMARY KEY, settings {t.Text} NOT NULL, created_at {t.Time} NOT NULL);
            CREATE TABLE IF NOT EXISTS automl_trials(
                id {t.Id},
                experiment {t.Text} NOT NULL REFERENCES automl_experiments(name),
                parameters {t.Text} NOT NULL,
                status {t.Text} NOT NULL,
                epochs {t.Json} NOT NULL DEFAULT '[]',
                metric {t.Real},
                error {t.Text},
                duration_seconds {t.Real},
                peak_memory_bytes {t.BigInt},
                peak_gpu_memory_bytes {t.BigInt},
                worker_id {t.Text},
                created_at {t.Time} NOT NULL,
                started_at {t.Time},
                ended_at {t.Time},
                heartbeat_at {t.Time},
                attempts {t.Int} NOT NULL DEFAULT 0,
                retries {t.Json} NOT NULL DEFAULT '[]',
                precision {t.Text});
            CREATE INDEX IF NOT EXISTS automl_trials_claim ON automl_trials(experiment, status, id);
            """);
        // Added after version 1 was in use: stores made before get the column (older readers name their columns, so
        // the store stays readable by them and keeps its version).
        if (!ColumnsOf(c, "automl_trials").Contains("precision")) c.Exec($"ALTER TABLE automl_trials ADD COLUMN precision {t.Text}");
        c.Exec("INSERT INTO automl_meta(key, value) VALUES('schema_version', @v) ON CONFLICT (key) DO NOTHING", ("@v", SchemaVersion.ToString()));
        string v = (string)c.Scalar("SELECT value FROM automl_meta WHERE key = 'schema_version'")!;
        if (v != SchemaVersion.ToString())
            throw new TrialStoreException($"{description} holds a trial store of schema version {v}; this version of MlNetLlm reads version {SchemaVersion}.");
    }

    // The result's column names: asks no catalog, so it reads the same in every database.
    private static HashSet<string> ColumnsOf(DbConnection c, string table)
    {
        using var cmd = c.Command($"SELECT * FROM {table} WHERE 1 = 0");
        using var r = cmd.ExecuteReader();
        return Enumerable.Range(0, r.FieldCount).Select(r.GetName).ToHashSet(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>A row of (name, settings, created_at).</summary>
    public static ExperimentRecord ReadExperiment(DbDataReader r) => new(r.GetString(0), r.GetString(1), Time(r, 2)!.Value);

    /// <summary>A row of <see cref="TrialColumns"/>.</summary>
    public static TrialRecord ReadTrial(DbDataReader r)
    {
        string? Str(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        double? Dbl(int i) => r.IsDBNull(i) ? null : r.GetDouble(i);
        long? Lng(int i) => r.IsDBNull(i) ? null : r.GetInt64(i);
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
            CreatedAt = Time(r, 11) ?? default,
            StartedAt = Time(r, 12),
            EndedAt = Time(r, 13),
            HeartbeatAt = Time(r, 14),
            Attempts = Convert.ToInt32(r.GetValue(15)),
            Retries = StoreJson.Strings(Str(16)),
            Precision = Str(17),
        };
    }

    // A time as stored: ISO 8601 text (SQLite) or a timestamp the provider reads as DateTime in UTC (PostgreSQL).
    private static DateTimeOffset? Time(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetValue(i) switch
    {
        string s => StoreJson.ParseTimestamp(s),
        DateTime d => new DateTimeOffset(DateTime.SpecifyKind(d, DateTimeKind.Utc)),
        DateTimeOffset o => o,
        var v => throw new TrialStoreException($"Unexpected timestamp {v} in the store."),
    };
}
