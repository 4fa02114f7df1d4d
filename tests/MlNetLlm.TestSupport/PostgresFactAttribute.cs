using Xunit;

namespace MlNetLlm.TestSupport;

/// <summary>
/// A PostgreSQL test: runs against the database in the MLNETLLM_TEST_POSTGRES connection string (start one with
/// <c>eval "$(bash .ci/postgres.sh)"</c>) and is reported as skipped when the variable is not set.
/// </summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public const string Variable = "MLNETLLM_TEST_POSTGRES";

    public PostgresFactAttribute()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
            Skip = $"{Variable} not set (run `eval \"$(bash .ci/postgres.sh)\"` to start a local PostgreSQL for these tests)";
    }

    public static string? ConnectionString => Environment.GetEnvironmentVariable(Variable);
}
