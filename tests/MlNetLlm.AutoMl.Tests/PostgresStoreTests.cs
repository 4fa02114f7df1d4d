using System.Diagnostics;

namespace MlNetLlm.AutoMl.Tests;

/// <summary>
/// PostgreSQL store tests. Those marked [PostgresFact] need MLNETLLM_TEST_POSTGRES (see .ci/postgres.sh) and are
/// reported as skipped without it; the rest need no server.
/// </summary>
public class PostgresStoreTests
{
    private static string Connection => PostgresFactAttribute.ConnectionString!;

    private static ITrialStore Open(TimeProvider? time = null) => new PostgresTrialStore(Connection, time);

    [PostgresFact]
    public void Lifecycle() => StoreContract.Lifecycle(Open);

    [PostgresFact]
    public void Prune_fail_retry_and_errors() => StoreContract.PruneFailRetryAndErrors(Open);

    [PostgresFact]
    public void Resume_requeues_only_running_trials() => StoreContract.ResumeRequeuesOnlyRunningTrials(Open);

    [PostgresFact]
    public void Concurrent_add_if_new_adds_each_point_once() => StoreContract.ConcurrentAddIfNewAddsEachPointOnce(Open, threads: 6, points: 40);

    [PostgresFact]
    public void Concurrent_claims_from_threads_never_collide() => StoreContract.ConcurrentClaimsNeverCollide(Open, threads: 6, trials: 120);

    [PostgresFact]
    public void Two_worker_processes_on_one_postgres_database_never_run_a_trial_twice() =>
        StoreContract.TwoWorkerProcessesShareAnExperiment(Connection, () => Open(), trials: 40);

    [PostgresFact]
    public void Sigkill_of_a_worker_mid_trial_loses_nothing_and_the_trial_is_rerun() =>
        StoreContract.SigkillMidTrialThenResume(Connection, () => Open());

    [PostgresFact]
    public void Factory_opens_postgres_from_a_url_too()
    {
        var b = PostgresTrialStore.ParseConnectionString(Connection);
        string url = $"postgres://{Uri.EscapeDataString(b.Username!)}:{Uri.EscapeDataString(b.Password ?? "")}@{b.Host}:{b.Port}/{Uri.EscapeDataString(b.Database!)}";
        using var store = TrialStore.Open(url);
        Assert.IsType<PostgresTrialStore>(store);
        Assert.Contains($"{b.Host}:{b.Port}", store.Description);
        Assert.DoesNotContain("Password", store.Description, StringComparison.OrdinalIgnoreCase);
        string pw = b.Password ?? "";
        if (pw.Length > 0 && !$"{b.Host}{b.Port}{b.Database}{b.Username}".Contains(pw)) Assert.DoesNotContain(pw, store.Description);
        string exp = StoreContract.NewExperiment();
        store.CreateExperiment(exp, "{}");
        using var again = TrialStore.Open(Connection); // schema creation is idempotent
        Assert.NotNull(again.GetExperiment(exp));
    }

    [Fact]
    public void Unreachable_server_error_names_host_and_port()
    {
        var clock = Stopwatch.StartNew();
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        var e = Assert.Throws<TrialStoreException>(() => TrialStore.Open("Host=127.0.0.1;Port=1;Username=u;Password=secret;Database=d;Timeout=5"));
        Assert.Contains("127.0.0.1:1", e.Message);
        Assert.Contains("PostgreSQL", e.Message);
        Assert.DoesNotContain("secret", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30));

        var url = Assert.Throws<TrialStoreException>(() => TrialStore.Open("postgres://u:secret@127.0.0.1:1/d?connect_timeout=5"));
        Assert.Contains("127.0.0.1:1", url.Message);
        Assert.DoesNotContain("secret", url.Message);
    }

    [Fact]
    public void Location_strings_pick_the_right_store()
    {
        Assert.True(TrialStore.IsPostgres("postgres://u:p@h:5432/db"));
        Assert.True(TrialStore.IsPostgres("postgresql://h/db"));
        Assert.True(TrialStore.IsPostgres("Host=127.0.0.1;Port=55432;Username=u;Password=p;Database=d"));
        Assert.True(TrialStore.IsPostgres("Server=db.example;Database=d"));
        Assert.False(TrialStore.IsPostgres("trials.db"));
        Assert.False(TrialStore.IsPostgres("/tmp/runs/experiment=3/trials.db"));
        Assert.False(TrialStore.IsPostgres("sqlite:trials.db"));
        Assert.Throws<ArgumentException>(() => TrialStore.Open(" "));
    }

    [Fact]
    public void Urls_are_parsed_into_connection_settings()
    {
        var b = PostgresTrialStore.ParseConnectionString("postgres://ml%40user:p%3Ass@db.example:6543/experiments?sslmode=disable&connect_timeout=7");
        Assert.Equal("db.example", b.Host);
        Assert.Equal(6543, b.Port);
        Assert.Equal("ml@user", b.Username);
        Assert.Equal("p:ss", b.Password);
        Assert.Equal("experiments", b.Database);
        Assert.Equal(7, b.Timeout);
        Assert.Equal(Npgsql.SslMode.Disable, b.SslMode);
        Assert.Equal(5432, PostgresTrialStore.ParseConnectionString("postgresql://h/db").Port);
        Assert.Throws<ArgumentException>(() => PostgresTrialStore.ParseConnectionString("postgres://"));
        Assert.Throws<ArgumentException>(() => PostgresTrialStore.ParseConnectionString("Host=h;Bogus Key=1"));
    }
}
