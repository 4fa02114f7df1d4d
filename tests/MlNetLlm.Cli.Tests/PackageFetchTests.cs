using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using MlNetLlm.Cli.Fetching;

namespace MlNetLlm.Cli.Tests;

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

    private static void WritePackage(string feed, string id, string[] dependencies, params (string Path, byte[] Bytes)[] files)
    {
        using var zip = ZipFile.Open(Path.Combine(feed, $"{id.ToLowerInvariant()}.2.0.0.nupkg"), ZipArchiveMode.Create);
        string deps = dependencies.Length == 0 ? "" :
            $"<dependencies><group targetFramework=\".NETStandard2.0\">{string.Concat(dependencies.Select(d => $"<dependency id=\"{d}\" version=\"2.0.0\" />"))}</group></dependencies>";
        using (var w = new StreamWriter(zip.CreateEntry($"{id.ToLowerInvariant()}.nuspec").Open()))
            w.Write($"""<?xml version="1.0"?><package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd"><metadata><id>{id}</id><version>2.0.0</version><authors>t</authors><description>t</description>{deps}</metadata></package>""");
        foreach (var (path, bytes) in files)
        {
            using var s = zip.CreateEntry(path).Open();
            s.Write(bytes);
        }
    }

    [Fact]
    public void A_split_native_package_is_fetched_with_its_parts_and_its_large_file_joined_and_checked()
    {
        // The layout TorchSharp uses for libtorch-cuda: a head package, a part with whole files, and a file cut into a
        // primary piece (with the whole file's SHA-256 as FILE.sha) and a fragment package.
        var (_, config) = FakeFeed([0]);
        string feed = Path.Combine(_root, "feed");
        var whole = Encoding.ASCII.GetBytes("small library");
        var large = Enumerable.Range(0, 3000).Select(i => (byte)(i * 7)).ToArray();
        string largeSha = Convert.ToHexStringLower(SHA256.HashData(large));
        WritePackage(feed, "Fake.Split", ["Fake.Split-part1", "Fake.Split-part2-primary", "Fake.Split-part2-fragment1", "Other.Dependency"]);
        WritePackage(feed, "Fake.Split-part1", [], ("runtimes/linux-x64/native/libsmall.so", whole));
        WritePackage(feed, "Fake.Split-part2-primary", [], ("runtimes/linux-x64/native/liblarge.so", large[..1000]), ("runtimes/linux-x64/native/liblarge.so.sha", Encoding.ASCII.GetBytes(largeSha)));
        WritePackage(feed, "Fake.Split-part2-fragment1", [], ("fragments/linux-x64/native/liblarge.so.fragment1", large[1000..]));

        var fetcher = new PackageFetcher(Path.Combine(_root, "cache"), new Recorder(), config);
        string folder = SplitPackageFetch.Ensure(fetcher, new Recorder(), "a split library", "Fake.Split", "2.0.0", "linux-x64");
        Assert.Equal(whole, File.ReadAllBytes(Path.Combine(folder, "libsmall.so")));
        Assert.Equal(large, File.ReadAllBytes(Path.Combine(folder, "liblarge.so")));
        Assert.Equal(["libsmall.so", "liblarge.so"], Directory.GetFiles(folder).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')).Order().Reverse());
    }

    [Fact]
    public void A_split_package_whose_joined_file_has_another_hash_is_refused()
    {
        var (_, config) = FakeFeed([0]);
        string feed = Path.Combine(_root, "feed");
        WritePackage(feed, "Fake.Bad", ["Fake.Bad-part1-primary", "Fake.Bad-part1-fragment1"]);
        WritePackage(feed, "Fake.Bad-part1-primary", [], ("runtimes/linux-x64/native/lib.so", [1, 2]), ("runtimes/linux-x64/native/lib.so.sha", Encoding.ASCII.GetBytes(new string('a', 64))));
        WritePackage(feed, "Fake.Bad-part1-fragment1", [], ("fragments/linux-x64/native/lib.so.fragment1", [3]));
        var fetcher = new PackageFetcher(Path.Combine(_root, "cache"), new Recorder(), config);
        var e = Assert.Throws<InvalidDataException>(() => SplitPackageFetch.Ensure(fetcher, new Recorder(), "a split library", "Fake.Bad", "2.0.0", "linux-x64"));
        Assert.Contains("lib.so joined from its parts", e.Message);
    }

    [Fact]
    public void A_split_package_no_source_serves_is_refused_naming_it_and_the_sources()
    {
        var (_, config) = FakeFeed([0]);
        var fetcher = new PackageFetcher(Path.Combine(_root, "cache"), new Recorder(), config);
        var e = Assert.Throws<InvalidOperationException>(() =>
            SplitPackageFetch.Ensure(fetcher, new Recorder(), "libtorch for CUDA", "libtorch-cuda-12.8-linux-x64", "2.10.0", "linux-x64"));
        Assert.Contains("libtorch-cuda-12.8-linux-x64 2.10.0 is not there", e.Message);
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
