using Microsoft.Data.Sqlite;

namespace MlNetLlm.AutoMl.Tests;

public sealed class SqliteStoreTests : IDisposable
{
    private readonly TempDir dir = new();
    private readonly string path;

    public SqliteStoreTests() => path = dir.File("trials.db");

    public void Dispose() => dir.Dispose();

    private ITrialStore Open(TimeProvider? time = null) => new SqliteTrialStore(path, time);

    [Fact]
    public void Lifecycle() => StoreContract.Lifecycle(Open);

    [Fact]
    public void Prune_fail_retry_and_errors() => StoreContract.PruneFailRetryAndErrors(Open);

    [Fact]
    public void Resume_requeues_only_running_trials() => StoreContract.ResumeRequeuesOnlyRunningTrials(Open);

    [Fact]
    public void Concurrent_add_if_new_adds_each_point_once() => StoreContract.ConcurrentAddIfNewAddsEachPointOnce(Open, threads: 4, points: 40);

    [Fact]
    public void Concurrent_claims_from_threads_never_collide() => StoreContract.ConcurrentClaimsNeverCollide(Open, threads: 4, trials: 60);

    [Fact]
    public void Sigkill_of_a_worker_mid_trial_loses_nothing_and_the_trial_is_rerun() =>
        StoreContract.SigkillMidTrialThenResume(path, () => Open());

    [Fact]
    public void Two_worker_processes_share_a_sqlite_experiment() =>
        StoreContract.TwoWorkerProcessesShareAnExperiment(path, () => Open(), trials: 30);

    [Fact]
    public void Store_is_a_wal_database_with_the_expected_tables()
    {
        using (var store = Open()) Assert.StartsWith("SQLite ", store.Description);
        using var c = new SqliteConnection($"Data Source={path};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string)cmd.ExecuteScalar()!);
        cmd.CommandText = "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'automl_%' ORDER BY name)";
        Assert.Equal("automl_experiments,automl_meta,automl_trials", (string)cmd.ExecuteScalar()!);
    }

    [Fact]
    public void A_store_made_before_the_precision_column_gains_it_and_keeps_its_trials()
    {
        // The schema as the first version wrote it (no precision column), with one finished trial.
        using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE automl_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE automl_experiments(name TEXT PRIMARY KEY, settings TEXT NOT NULL, created_at TEXT NOT NULL);
                CREATE TABLE automl_trials(id INTEGER PRIMARY KEY AUTOINCREMENT, experiment TEXT NOT NULL REFERENCES automl_experiments(name),
                    parameters TEXT NOT NULL, status TEXT NOT NULL, epochs TEXT NOT NULL DEFAULT '[]', metric REAL, error TEXT, duration_seconds REAL,
                    peak_memory_bytes INTEGER, peak_gpu_memory_bytes INTEGER, worker_id TEXT, created_at TEXT NOT NULL, started_at TEXT, ended_at TEXT,
                    heartbeat_at TEXT, attempts INTEGER NOT NULL DEFAULT 0, retries TEXT NOT NULL DEFAULT '[]');
                INSERT INTO automl_meta VALUES('schema_version', '1');
                INSERT INTO automl_experiments VALUES('old', '{}', '2026-01-01T00:00:00.000000Z');
                INSERT INTO automl_trials(experiment, parameters, status, metric, created_at) VALUES('old', '{"x":0.5}', 'completed', 0.8, '2026-01-01T00:00:00.000000Z');
                """;
            cmd.ExecuteNonQuery();
        }
        using var store = Open();
        var old = store.ListTrials("old").Single();
        Assert.Equal(0.8, old.Metric);
        Assert.Null(old.Precision);
        long id = store.AddTrial("old", new ParameterSet([new("x", 0.25)]));
        Assert.True(store.TryStart(id, "w"));
        store.Complete(id, 0.9, new TrialResources { Precision = "fp32" });
        Assert.Equal("fp32", store.GetTrial(id)!.Precision);
    }

    [Fact]
    public void A_file_that_is_not_a_sqlite_database_is_rejected()
    {
        string text = dir.File("notes.db");
        File.WriteAllText(text, "these are my notes, not a database\n" + new string('x', 5000));
        var e = Assert.Throws<TrialStoreException>(() => TrialStore.Open(text));
        Assert.Contains("is not a SQLite database", e.Message);
        Assert.Contains(text, e.Message);
        Assert.StartsWith("these are my notes", File.ReadAllText(text)); // left alone
    }

    [Fact]
    public void A_sqlite_database_of_something_else_is_rejected()
    {
        string other = dir.File("other.db");
        using (var c = new SqliteConnection($"Data Source={other};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT)";
            cmd.ExecuteNonQuery();
        }
        var e = Assert.Throws<TrialStoreException>(() => new SqliteTrialStore(other));
        Assert.Contains("not an MlNetLlm trial store", e.Message);
        Assert.Contains("customers", e.Message);
    }

    [Fact]
    public void A_directory_is_rejected_and_missing_folders_are_created()
    {
        Assert.Contains("is a directory", Assert.Throws<TrialStoreException>(() => new SqliteTrialStore(dir.Path)).Message);
        string nested = Path.Combine(dir.Path, "a", "b", "trials.db");
        using (var store = TrialStore.Open("sqlite:" + nested)) store.CreateExperiment("e", "{}");
        Assert.True(File.Exists(nested));
    }
}
