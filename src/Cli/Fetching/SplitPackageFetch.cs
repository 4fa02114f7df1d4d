using System.IO.Compression;
using NuGet.Packaging;

namespace MlNetLlm.Cli.Fetching;

/// <summary>
/// A native package too large for one NuGet package, as TorchSharp publishes the CUDA build of libtorch: a head package
/// that depends on parts; a part holds whole files under runtimes/RID/native/, or the first piece of a large file
/// ("-partN-primary", with the whole file's SHA-256 beside it as FILE.sha) whose remaining pieces are in
/// "-partN-fragmentK" packages under fragments/RID/native/FILE.fragmentK. The pieces are joined in order and the
/// result checked against FILE.sha, as TorchSharp's own restore targets do.
/// </summary>
internal static class SplitPackageFetch
{
    /// <summary>The cache folder holding every native file of <paramref name="headId"/> and its parts, fetched once.</summary>
    public static string Ensure(PackageFetcher fetcher, IFetchProgress progress, string what, string headId, string version, string rid, CancellationToken ct = default)
    {
        var sources = fetcher.Sources();
        var tried = new List<string>();
        return fetcher.EnsureFolder(headId, version, _ => true, temp =>
        {
            if (sources.Find(headId, version, tried, ct) is null)
                throw new InvalidOperationException(
                    $"{what} is not served by any of your NuGet sources ({(tried.Count == 0 ? "none is configured" : string.Join("; ", tried))}): {headId} {version} is not there. " +
                    "Add a source that serves it (nuget.org does), or use the CPU.");
            var downloads = Path.Combine(temp, ".download");
            Directory.CreateDirectory(downloads);
            var queue = new Queue<string>([headId]);
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { headId };
            var pieces = new Dictionary<string, SortedDictionary<int, string>>(); // file → fragment number → path
            var expected = new Dictionary<string, string>();                       // file → whole-file SHA-256
            var files = new Dictionary<string, string>();
            while (queue.TryDequeue(out var id))
            {
                string nupkg = Path.Combine(downloads, id + ".nupkg");
                sources.Download(id, version, nupkg, from => progress.Started(new PackageFiles(what, id, version, 0, new Dictionary<string, string>()), from, temp),
                    n => progress.Transferred(n, 0), what, ct);
                using (var reader = new PackageArchiveReader(nupkg))
                    foreach (var dependency in reader.GetPackageDependencies().SelectMany(g => g.Packages))
                        if (dependency.Id.StartsWith(headId, StringComparison.OrdinalIgnoreCase) && seen.Add(dependency.Id))
                            queue.Enqueue(dependency.Id);
                using (var zip = ZipFile.OpenRead(nupkg))
                    foreach (var entry in zip.Entries)
                        Take(entry, rid, temp, downloads, pieces, expected, files);
                File.Delete(nupkg);
            }
            foreach (var (file, fragments) in pieces)
                Join(Path.Combine(temp, file), fragments.Values);
            foreach (var (file, sha) in expected)
                PackageFetcher.Verify(Path.Combine(temp, file), sha, $"{headId} {version}: {file} joined from its parts");
            Directory.Delete(downloads, recursive: true);
            if (files.Count == 0) throw new InvalidDataException($"{headId} {version} and its parts hold no runtimes/{rid}/native files.");
            return files.Keys.ToDictionary(f => f, f => PackageFetcher.Sha256(Path.Combine(temp, f)));
        });
    }

    private static void Take(ZipArchiveEntry entry, string rid, string temp, string downloads,
        Dictionary<string, SortedDictionary<int, string>> pieces, Dictionary<string, string> expected, Dictionary<string, string> files)
    {
        string native = $"runtimes/{rid}/native/", fragment = $"fragments/{rid}/native/";
        if (entry.FullName.StartsWith(native, StringComparison.Ordinal) && entry.Name.Length > 0)
        {
            if (entry.Name.EndsWith(".sha", StringComparison.Ordinal))
            {
                using var r = new StreamReader(entry.Open());
                expected[entry.Name[..^4]] = r.ReadToEnd().Trim();
                return;
            }
            entry.ExtractToFile(Path.Combine(temp, entry.Name), overwrite: true);
            files[entry.Name] = "";
        }
        else if (entry.FullName.StartsWith(fragment, StringComparison.Ordinal) && entry.Name.LastIndexOf(".fragment", StringComparison.Ordinal) is var at and > 0
                 && int.TryParse(entry.Name[(at + ".fragment".Length)..], out int number))
        {
            string file = entry.Name[..at], path = Path.Combine(downloads, entry.Name);
            entry.ExtractToFile(path, overwrite: true);
            (pieces.TryGetValue(file, out var list) ? list : pieces[file] = new SortedDictionary<int, string>())[number] = path;
        }
    }

    /// <summary>Appends the fragments, in order, to the primary piece.</summary>
    private static void Join(string primary, IEnumerable<string> fragments)
    {
        if (!File.Exists(primary)) throw new InvalidDataException($"Fragments of '{Path.GetFileName(primary)}' arrived without its primary part.");
        using var output = new FileStream(primary, FileMode.Append);
        foreach (var f in fragments)
        {
            using (var input = File.OpenRead(f)) input.CopyTo(output);
            File.Delete(f);
        }
    }
}
