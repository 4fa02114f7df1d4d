using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace MlNetLlm.AutoMl;

/// <summary>
/// The trial store in one SQLite file (the default): <see cref="RelationalTrialStore"/> in SQLite's dialect. WAL
/// journal and synchronous=FULL, so every call is durable when it returns and a worker killed with SIGKILL loses
/// nothing it had written. Safe for several threads and processes on one machine: a claim is one UPDATE, which SQLite
/// runs alone, and check-then-insert runs under BEGIN IMMEDIATE (one writer at a time); a writer waits up to 60 s for
/// another's lock. For workers on several machines use <see cref="PostgresTrialStore"/>.
/// </summary>
internal sealed class SqliteTrialStore : RelationalTrialStore
{
    private static readonly SqlTypes SqliteTypes = new(
        Id: "INTEGER PRIMARY KEY AUTOINCREMENT", Text: "TEXT", Real: "REAL", Int: "INTEGER", BigInt: "INTEGER", Json: "TEXT", Time: "TEXT");

    private readonly string connectionString;

    /// <summary>Opens (creating if needed) the store at <paramref name="path"/>. Throws <see cref="TrialStoreException"/>
    /// when the file is not a SQLite database or is a database of something else.</summary>
    public SqliteTrialStore(string path, TimeProvider? time = null) : base(time)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("The SQLite trial store needs a file path.", nameof(path));
        Path = System.IO.Path.GetFullPath(path);
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

    public override string Description => $"SQLite {Path}";

    protected override SqlTypes Types => SqliteTypes;

    protected override DbConnection Open()
    {
        var c = new SqliteConnection(connectionString);
        try
        {
            c.Open();
            c.Exec("PRAGMA synchronous=FULL;");
            return c;
        }
        catch { c.Dispose(); throw; }
    }

    protected override DbTransaction BeginSchemaChange(DbConnection c)
    {
        c.Exec("PRAGMA journal_mode=WAL;");
        var tx = Immediate(c);
        var tables = c.Read("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", r => r.GetString(0));
        if (tables.Count == 0 || tables.Contains("automl_meta")) return tx;
        tx.Dispose();
        throw new TrialStoreException($"'{Path}' is a SQLite database but not an MlNetLlm trial store (it has tables {string.Join(", ", tables)}); choose another file.");
    }

    protected override DbTransaction BeginAddingTo(DbConnection c, string experiment) => Immediate(c);

    // BEGIN IMMEDIATE: the write lock on the whole file from the start, across processes.
    private static DbTransaction Immediate(DbConnection c) => ((SqliteConnection)c).BeginTransaction(deferred: false);

    protected override object Timestamp(DateTimeOffset t) => StoreJson.Timestamp(t);

    protected override string SecondsBetween(string from, string to) => $"(julianday({to}) - julianday({from})) * 86400.0";

    protected override string AppendJson(string array, string json) => $"json_insert({array}, '$[#]', json({json}))";

    protected override string AppendString(string array, string text) => $"json_insert({array}, '$[#]', {text})";

    protected override string ArrayLength(string array) => $"json_array_length({array})";

    protected override string LastNumber(string array, string field) => $"json_extract({array}, '$[#-1].{field}')";

    protected override TrialStoreException Error(DbException e) => (e as SqliteException)?.SqliteErrorCode switch
    {
        26 => new($"'{Path}' is not a SQLite database ({e.Message}); give a new or existing trial store file.", e), // SQLITE_NOTADB
        14 or 23 => new($"Cannot open the SQLite trial store '{Path}': {e.Message}", e), // SQLITE_CANTOPEN, SQLITE_AUTH
        _ => new($"SQLite trial store '{Path}': {e.Message}", e),
    };

    public override void Dispose()
    {
        // Release pooled file handles so the file can be moved or deleted.
        using var c = new SqliteConnection(connectionString);
        SqliteConnection.ClearPool(c);
    }
}
