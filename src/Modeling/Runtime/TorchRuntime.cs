using System.Runtime.InteropServices;
using TorchSharp;

namespace MlNetLlm.Modeling.Runtime;

/// <summary>
/// Loads libtorch once and, when that fails, says what is really missing. TorchSharp's own message
/// ("doesn't contain a reference to libtorch-cpu-linux-x64") is misleading on Debian 12, where the cause is
/// libLibTorchSharp.so asking for GLIBCXX_3.4.32.
/// </summary>
internal static class TorchRuntime
{
    private static readonly object Gate = new();
    private static bool _tried;
    private static Exception? _loadError;

    /// <summary>
    /// Where libtorch comes from when the application does not carry it (no libtorch_cpu.so beside it): given whether
    /// CUDA is wanted, returns a folder holding libtorch.so and the libraries it needs. The CLI tool sets this to fetch
    /// the backend package once into a cache; applications that reference the packages never need it.
    /// </summary>
    public static Func<bool, string>? BackendLocator { get; set; }

    /// <summary>
    /// Throws <see cref="TorchLoadException"/> with a diagnosis if libtorch cannot be loaded. The first call loads it;
    /// <paramref name="cuda"/> there asks <see cref="BackendLocator"/> for a CUDA backend.
    /// </summary>
    public static void EnsureLoaded(bool cuda = false)
    {
        Exception? error;
        lock (Gate)
        {
            if (!_tried)
            {
                _loadError = TryLoad(cuda);
                _tried = true;
            }
            error = _loadError;
        }
        if (error is { } e)
            throw e as TorchLoadException ?? new TorchLoadException(Diagnose(AppContext.BaseDirectory, e.Message), e);
    }

    private static Exception? TryLoad(bool cuda)
    {
        try
        {
            PreloadBackend(cuda);
            torch.InitializeDeviceType(DeviceType.CPU);
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    /// <summary>True when libtorch is beside the application (the usual case: a package or project reference copied it).</summary>
    public static bool ApplicationCarriesBackend(string appDirectory) =>
        File.Exists(Path.Combine(appDirectory, "libtorch_cpu.so")) || File.Exists(Path.Combine(appDirectory, "runtimes", "linux-x64", "native", "libtorch_cpu.so"))
        || File.Exists(Path.Combine(appDirectory, "torch_cpu.dll")) || File.Exists(Path.Combine(appDirectory, "libtorch_cpu.dylib"));

    /// <summary>
    /// Loads libtorch from <see cref="BackendLocator"/>'s folder by full path when the application does not carry it:
    /// TorchSharp then finds it by its soname, and its own shim (beside the application) links against it.
    /// </summary>
    private static void PreloadBackend(bool cuda)
    {
        if (BackendLocator is not { } locate || ApplicationCarriesBackend(AppContext.BaseDirectory)) return;
        string folder = locate(cuda);
        string library = Path.Combine(folder, RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? "libtorch.so" : "torch.dll");
        if (!NativeLibrary.TryLoad(library, out _))
            throw new TorchLoadException($"libtorch was fetched into '{folder}' but '{library}' does not load on this system.", new DllNotFoundException(library));
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
                          "The MlNetLlm.Modeling package's build targets mark that requirement weak in your build and publish output: build or publish the application with the package referenced " +
                          "(a copy made another way, e.g. by hand or by a custom step, is not patched), or install libstdc++ from GCC 13 or newer.");
            if (FindNative(appDirectory, "libtorch.so") is null && FindNative(appDirectory, "libtorch_cpu.so") is null)
                lines.Add($"libtorch.so is not under '{appDirectory}': reference the MlNetLlm.Estimators (or MlNetLlm.Modeling) package, which brings libtorch-cpu-linux-x64 2.10, " +
                          "or TorchSharp-cuda-linux for CUDA; do not exclude libtorch-cpu-linux-x64's assets unless another backend is referenced.");
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
internal sealed class TorchLoadException(string message, Exception inner) : Exception(message, inner);
