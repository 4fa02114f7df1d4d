namespace MlNetLlm.AutoMl;

/// <summary>Opens a trial store from a location string.</summary>
public static class TrialStore
{
    /// <summary>
    /// <c>postgres://user:pass@host:port/db</c> or <c>postgresql://…</c> or a keyword connection string containing
    /// <c>Host=</c> → <see cref="PostgresTrialStore"/>; anything else is a file path (an optional <c>sqlite:</c>
    /// prefix is stripped) → <see cref="SqliteTrialStore"/>.
    /// </summary>
    public static ITrialStore Open(string location, TimeProvider? time = null)
    {
        if (string.IsNullOrWhiteSpace(location)) throw new ArgumentException("A trial store location is required: a SQLite file path or a PostgreSQL connection string.", nameof(location));
        location = location.Trim();
        if (IsPostgres(location)) return new PostgresTrialStore(location, time);
        if (location.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase)) location = location["sqlite:".Length..];
        return new SqliteTrialStore(location, time);
    }

    /// <summary>True when <paramref name="location"/> names a PostgreSQL database rather than a file.</summary>
    public static bool IsPostgres(string location)
    {
        location = location.Trim();
        if (location.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
            return true;
        // Keyword form: "Host=...;..." (also "Server=" as Npgsql accepts it).
        return location.Contains('=') && location.Split(';').Any(part =>
        {
            string key = part.Split('=', 2)[0].Trim();
            return key.Equals("Host", StringComparison.OrdinalIgnoreCase) || key.Equals("Server", StringComparison.OrdinalIgnoreCase);
        });
    }
}
