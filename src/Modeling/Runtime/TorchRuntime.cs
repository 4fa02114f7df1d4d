using System.Runtime.InteropServices;
using TorchSharp;

namespace MlNetLlm.Modeling.Runtime;

/// <summary>
/// Loads libtorch once and, when that fails, says what is really missing. TorchSharp's own message
/// ("doesn't contain a reference to libtorch-cpu-linux-x64") is misleading on Debian 12, where the cause is
/// libLibTorchSharp.so asking for GLIBCXX_3.4.32.
/// </summary>
public static class TorchRuntime
{
    private static readonly Lazy<Exception?> LoadError = new(TryLoad, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Throws <see cref="TorchLoadException"/> with a diagnosis if libtorch cannot be loaded.</summary>
    public static void EnsureLoaded()
    {
        if (LoadError.Value is { } e)
            throw new TorchLoadException(Diagnose(AppContext.BaseDirectory, e.Message), e);
    }

    private static Exception? TryLoad()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    /// <summary>Explains a load failure from what is on disk next to the application.</summary>
    public static string Diagnose(string appDirectory, string originalMessage)
    {
        var lines = new List<string> { "libtorch could not be loaded, so TorchSharp cannot run." };
        string? shim = FindNative(appDirectory, "libLibTorchSharp.so");
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            lines.Add("This build references the Linux libtorch package (libtorch-cpu-linux-x64); on another OS reference TorchSharp-cpu.");
        }
        else if (shim is null)
        {
            lines.Add($"libLibTorchSharp.so was not found under '{appDirectory}'. Reference the TorchSharp package from an executable or test project (it copies runtimes/linux-x64/native/).");
        }
        else
        {
            var missingVersions = MissingStdCxxVersions(shim);
            if (missingVersions.Count > 0)
                lines.Add($"'{shim}' requires {string.Join(", ", missingVersions)}, which this system's libstdc++ lacks (Debian 12 / Ubuntu 22.04 stop at GLIBCXX_3.4.30). " +
                          "Build through MlNetLlm's build targets (build/TorchNatives.targets marks that requirement weak in the output copy; `dotnet build`/`dotnet publish` do it), or install libstdc++ from GCC 13 or newer.");
            if (FindNative(appDirectory, "libtorch.so") is null && FindNative(appDirectory, "libtorch_cpu.so") is null)
                lines.Add($"libtorch.so is not under '{appDirectory}': reference libtorch-cpu-linux-x64 2.10.0 (default, -p:TorchBackend=cpu) or TorchSharp-cuda-linux (-p:TorchBackend=cuda), or put a libtorch 2.10 on LD_LIBRARY_PATH.");
        }
        lines.Add($"TorchSharp said: {originalMessage}");
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>GLIBCXX versions the file needs (not weak) that no libstdc++.so.6 on the usual paths provides.</summary>
    public static IReadOnlyList<string> MissingStdCxxVersions(string elfPath, string? libstdcxxPath = null)
    {
        var needed = ElfVersionNeeds.Read(elfPath).Where(n => !n.Weak && n.Version.StartsWith("GLIBCXX_", StringComparison.Ordinal)).Select(n => n.Version).Distinct().ToList();
        libstdcxxPath ??= new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6" }.FirstOrDefault(File.Exists);
        if (libstdcxxPath is null) return needed;
        var provided = System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(libstdcxxPath));
        return needed.Where(v => !provided.Contains(v + "\0", StringComparison.Ordinal)).ToList();
    }

    private static string? FindNative(string dir, string name)
    {
        if (!Directory.Exists(dir)) return null;
        return Directory.EnumerateFiles(dir, name, SearchOption.AllDirectories).FirstOrDefault();
    }
}

/// <summary>libtorch could not be loaded; the message says why and how to fix it.</summary>
public sealed class TorchLoadException(string message, Exception inner) : Exception(message, inner);
