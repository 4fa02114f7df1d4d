using System.Data.Common;

namespace MlNetLlm.AutoMl;

/// <summary>Commands on any ADO.NET connection, with parameters as (name, value) pairs. A null value is left out,
/// not bound: an optional value shapes the SQL instead (PostgreSQL infers a parameter's type from where it stands,
/// and a NULL in <c>@x IS NULL</c> or <c>COALESCE(@x, …)</c> would need a cast per database).</summary>
internal static class SqlCommands
{
    /// <summary>A command on <paramref name="c"/>, in its current transaction if any.</summary>
    public static DbCommand Command(this DbConnection c, string sql, params (string Name, object? Value)[] ps)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in ps)
        {
            if (value is null) continue;
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    /// <summary>Runs <paramref name="sql"/>; the rows it changed.</summary>
    public static int Exec(this DbConnection c, string sql, params (string, object?)[] ps)
    {
        using var cmd = c.Command(sql, ps);
        return cmd.ExecuteNonQuery();
    }

    public static object? Scalar(this DbConnection c, string sql, params (string, object?)[] ps)
    {
        using var cmd = c.Command(sql, ps);
        return cmd.ExecuteScalar();
    }

    /// <summary>Every row of <paramref name="sql"/>, each read by <paramref name="row"/>.</summary>
    public static List<T> Read<T>(this DbConnection c, string sql, Func<DbDataReader, T> row, params (string, object?)[] ps)
    {
        using var cmd = c.Command(sql, ps);
        using var r = cmd.ExecuteReader();
        var list = new List<T>();
        while (r.Read()) list.Add(row(r));
        return list;
    }
}
