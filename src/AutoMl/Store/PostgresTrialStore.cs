using System.Data.Common;
using System.Net.Sockets;
using Npgsql;

namespace MlNetLlm.AutoMl;

/// <summary>
/// The trial store in a PostgreSQL database, for several worker processes or machines running trials of one
/// experiment at once: <see cref="RelationalTrialStore"/> in PostgreSQL's dialect. Claims take the oldest pending row
/// <c>FOR UPDATE SKIP LOCKED</c>, so no two workers get the same trial and none waits on another; schema creation and
/// check-then-insert hold a transaction-scoped advisory lock. Tables (<c>automl_meta</c>, <c>automl_experiments</c>,
/// <c>automl_trials</c>) are created on first use.
/// </summary>
internal sealed class PostgresTrialStore : RelationalTrialStore
{
    private static readonly SqlTypes PostgresTypes = new(
        Id: "bigserial PRIMARY KEY", Text: "text", Real: "double precision", Int: "integer", BigInt: "bigint", Json: "jsonb", Time: "timestamptz");
    private const long SchemaLockKey = 0x4D4C4E45544C4C4D; // pg_advisory_xact_lock key serializing schema creation

    private readonly NpgsqlDataSource dataSource;
    private readonly string host, database, user;
    private readonly int port;

    /// <summary>Connects to the database given by <paramref name="connection"/> — a keyword connection string
    /// (<c>Host=…;Port=…;Username=…;Password=…;Database=…</c>) or a URL (<c>postgres://user:pass@host:port/db</c>) —
    /// and creates the tables if needed. Throws <see cref="TrialStoreException"/> naming host and port when the server
    /// cannot be reached.</summary>
    public PostgresTrialStore(string connection, TimeProvider? time = null) : base(time)
    {
        if (string.IsNullOrWhiteSpace(connection)) throw new ArgumentException("The PostgreSQL trial store needs a connection string.", nameof(connection));
        var builder = ParseConnectionString(connection);
        host = string.IsNullOrEmpty(builder.Host) ? "localhost" : builder.Host;
        port = builder.Port;
        database = builder.Database ?? builder.Username ?? "";
        user = builder.Username ?? "";
        dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        try { Initialize(); }
        catch { dataSource.Dispose(); throw; }
    }

    public override string Description => $"PostgreSQL {host}:{port}/{database} (user {user})";

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

    protected override SqlTypes Types => PostgresTypes;

    protected override DbConnection Open()
    {
        try { return dataSource.OpenConnection(); }
        catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException or InvalidOperationException)
        {
            string why = e is PostgresException pg ? $"{pg.SqlState}: {pg.MessageText}" : e.InnerException is { } inner ? $"{e.Message} ({inner.Message})" : e.Message;
            throw new TrialStoreException($"Cannot connect to PostgreSQL at {host}:{port} (database '{database}', user '{user}'): {why}", e);
        }
    }

    protected override DbTransaction BeginSchemaChange(DbConnection c) => Locked(c, "SELECT pg_advisory_xact_lock(@k)", ("@k", SchemaLockKey));

    // Read committed alone would let two workers both see "absent": an advisory lock per experiment serializes the
    // check and the insert (released at commit).
    protected override DbTransaction BeginAddingTo(DbConnection c, string experiment) =>
        Locked(c, "SELECT pg_advisory_xact_lock(hashtext('automl_trials:' || @e))", ("@e", experiment));

    private static DbTransaction Locked(DbConnection c, string lockSql, (string, object?) key)
    {
        var tx = c.BeginTransaction();
        c.Exec(lockSql, key);
        return tx;
    }

    protected override string ClaimLock => " FOR UPDATE SKIP LOCKED";

    protected override object Timestamp(DateTimeOffset t) => t;

    protected override string SecondsBetween(string from, string to) => $"EXTRACT(EPOCH FROM ({to} - {from}))::float8";

    protected override string AppendJson(string array, string json) => $"{array} || jsonb_build_array({json}::jsonb)";

    protected override string AppendString(string array, string text) => $"{array} || jsonb_build_array(({text})::text)";

    protected override string ArrayLength(string array) => $"jsonb_array_length({array})";

    protected override string LastNumber(string array, string field) => $"({array}->-1->>'{field}')::float8";

    protected override TrialStoreException Error(DbException e) =>
        new($"PostgreSQL trial store at {host}:{port}/{database}: {(e is PostgresException pg ? $"{pg.SqlState}: {pg.MessageText}" : e.Message)}", e);

    public override void Dispose() => dataSource.Dispose();
}
