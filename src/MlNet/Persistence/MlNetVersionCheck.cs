using System.Reflection;
using Microsoft.ML.Runtime;

namespace MlNetLlm.MlNet.Persistence;

/// <summary>
/// The model-zip code uses ML.NET internals (build/MlNetInternals.targets) that may change between ML.NET minor
/// versions; the package allows patch releases of the version it was compiled against. An application that resolves
/// another ML.NET gets this check's error naming both versions at the first save or load, rather than a
/// MissingMethodException from deep inside ML.NET.
/// </summary>
internal static class MlNetVersionCheck
{
    private static readonly Lazy<string?> Problem = new(() => Compare(CompiledAgainst(), Loaded()));

    public static void Ensure()
    {
        if (Problem.Value is { } message) throw new InvalidOperationException(message);
    }

    /// <summary>The ML.NET version this assembly was built against (MlNetVersion in Directory.Packages.props).</summary>
    public static string CompiledAgainst() =>
        typeof(MlNetVersionCheck).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "MlNetVersion")?.Value ?? "unknown";

    /// <summary>The version of the Microsoft.ML.Core assembly this process loaded (its informational version, without the commit).</summary>
    public static string Loaded() =>
        typeof(IHostEnvironment).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown";

    /// <summary>Null when the two versions share major and minor; else the message.</summary>
    public static string? Compare(string compiled, string loaded)
    {
        if (Version.TryParse(compiled.Split('-')[0], out var c) && Version.TryParse(loaded.Split('-')[0], out var l) && c.Major == l.Major && c.Minor == l.Minor)
            return null;
        return $"MlNetLlm's model-zip support was built for ML.NET {compiled} (any {compiled.Split('.')[0]}.{(compiled.Split('.') is { Length: > 1 } p ? p[1] : "x")}.x) " +
               $"but this application loaded ML.NET {loaded}: reference Microsoft.ML {compiled} (or a patch release of it), or an MlNetLlm version built for {loaded}.";
    }
}
