using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using MlNetLlm.Cli.Fetching;

namespace MlNetLlm.Tests;

/// <summary>
/// The tool's first-use fetch through NuGet's own client libraries, against a local folder feed named by a NuGet config
/// (as a user's would be): files land in the cache with their pinned SHA-256, a wrong hash is refused, a second call
/// does not fetch again, and what a killed fetch left behind is removed.
/// </summary>
public sealed class PackageFetchTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mlnetllm-fetch-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private sealed class Recorder : IFetchProgress
    {
        public List<string> Sources { get; } = [];
        public long LastBytes { get; private set; }
        public void Started(PackageFiles package, string from, string into) => Sources.Add(from);
        public void Transferred(long bytes, long total) => LastBytes = bytes;
        public void Finished(PackageFiles package, string folder) { }
    }

    private (PackageFiles Package, string ConfigRoot) FakeFeed(byte[] payload, string? pinnedSha = null)
    {
        string feed = Directory.CreateDirectory(Path.Combine(_root, "feed")).FullName;
        using (var zip = ZipFile.Open(Path.Combine(feed, "fake.natives.1.2.3.nupkg"), ZipArchiveMode.Create))
        {
            using (var w = new StreamWriter(zip.CreateEntry("fake.natives.nuspec").Open()))
                w.Write("""<?xml version="1.0"?><package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd"><metadata><id>Fake.Natives</id><version>1.2.3</version><authors>t</authors><description>t</description></metadata></package>""");
            using var s = zip.CreateEntry("runtimes/linux-x64/native/libfake.so").Open();
            s.Write(payload);
        }
        string config = Directory.CreateDirectory(Path.Combine(_root, "app")).FullName;
        string packages = Directory.CreateDirectory(Path.Combine(_root, "global-packages")).FullName;
        File.WriteAllText(Path.Combine(config, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config><add key="globalPackagesFolder" value="{packages}" /></config>
              <packageSources><clear /><add key="local" value="{feed}" /></packageSources>
            </configuration>
            """);
        string sha = pinnedSha ?? Convert.ToHexStringLower(SHA256.HashData(payload));
        var package = new PackageFiles("a fake native library", "Fake.Natives", "1.2.3", payload.Length,
            new Dictionary<string, string> { ["runtimes/linux-x64/native/libfake.so"] = sha });
        return (package, config);
    }

    [Fact]
    public void Fetches_from_the_configured_source_once_and_checks_the_hash()
    {
        var payload = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("not really ELF ", 1000)));
        var (package, config) = FakeFeed(payload);
        var progress = new Recorder();
        var fetcher = new PackageFetcher(Path.Combine(_root, "cache"), progress, config);
        string folder = fetcher.Ensure(package);
        Assert.Equal(payload, File.ReadAllBytes(Path.Combine(folder, "libfake.so")));
        Assert.Equal([Path.Combine(_root, "feed")], progress.Sources);
        Assert.True(progress.LastBytes > 0);

        // Cached: a second fetcher does not go to the source again.
        var again = new Recorder();
        Assert.Equal(folder, new PackageFetcher(Path.Combine(_root, "cache"), again, config).Ensure(package));
        Assert.Empty(again.Sources);
    }

    [Fact]
    public void A_file_whose_hash_differs_from_the_pinned_one_is_refused_and_nothing_is_cached()
    {
        var (package, config) = FakeFeed([1, 2, 3], pinnedSha: new string('0', 64));
        var fetcher = new PackageFetcher(Path.Combine(_root, "cache"), new Recorder(), config);
        var e = Assert.Throws<InvalidDataException>(() => fetcher.Ensure(package));
        Assert.Contains("runtimes/linux-x64/native/libfake.so", e.Message);
        Assert.Contains("not the expected 0000", e.Message);
        Assert.False(Directory.Exists(Path.Combine(_root, "cache", "fake.natives", "1.2.3")));
        Assert.Empty(Directory.GetDirectories(Path.Combine(_root, "cache"), ".fetch-*"));
    }

    [Fact]
    public void A_package_no_source_serves_is_an_error_naming_the_package_and_the_sources()
    {
        var (package, config) = FakeFeed([1, 2, 3]);
        var missing = package with { Id = "Not.There" };
        var e = Assert.Throws<InvalidOperationException>(() => new PackageFetcher(Path.Combine(_root, "cache"), new Recorder(), config).Ensure(missing));
        Assert.Contains("Not.There 1.2.3", e.Message);
        Assert.Contains(Path.Combine(_root, "feed"), e.Message);
    }

    [Fact]
    public void What_a_killed_fetch_left_is_removed_by_the_next_one()
    {
        var (package, config) = FakeFeed([4, 5, 6]);
        string cache = Directory.CreateDirectory(Path.Combine(_root, "cache")).FullName;
        // A process id that is not running: the fetch that made this folder is gone.
        string dead = Directory.CreateDirectory(Path.Combine(cache, $".fetch-fake.natives-{int.MaxValue - 7}-0123")).FullName;
        File.WriteAllText(Path.Combine(dead, "package.nupkg"), "half");
        string live = Directory.CreateDirectory(Path.Combine(cache, $".fetch-other-{Environment.ProcessId}-4567")).FullName;
        new PackageFetcher(cache, new Recorder(), config).Ensure(package);
        Assert.False(Directory.Exists(dead));
        Assert.True(Directory.Exists(live)); // a running process's fetch is left alone
    }
}
