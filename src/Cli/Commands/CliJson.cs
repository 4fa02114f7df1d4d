using System.Text.Json;

namespace MlNetLlm.Cli.Commands;

/// <summary>How the CLI writes metrics.json and the other JSON outputs: indented, camelCase, enums as names.</summary>
public static class CliJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // "tfidf+sdca", not "tfidf\u002Bsdca"
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
        // R² of a test set whose labels are all equal is NaN: written as "NaN", not a crash after training.
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
