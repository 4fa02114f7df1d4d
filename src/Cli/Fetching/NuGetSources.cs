using NuGet.Common;
using NuGet.Configuration;
using NuGet.Protocol;
using NuGet.Protocol.Core.Types;
using NuGet.Versioning;

namespace MlNetLlm.Cli.Fetching;

/// <summary>
/// The NuGet configuration as <c>dotnet restore</c> sees it from a folder (its sources, credentials and global packages
/// folder), used through NuGet's own client libraries, so a private feed or a mirror the user configured works here too.
/// </summary>
internal sealed class NuGetSources
{
    private readonly ISettings _settings;

    public NuGetSources(string? configRoot) => _settings = Settings.LoadDefaultSettings(configRoot ?? Directory.GetCurrentDirectory());

    /// <summary>Where restores extract packages (NUGET_PACKAGES, the config's globalPackagesFolder, or ~/.nuget/packages).</summary>
    public string GlobalPackagesFolder => SettingsUtility.GetGlobalPackagesFolder(_settings);

    public IReadOnlyList<PackageSource> Enabled => new PackageSourceProvider(_settings).LoadPackageSources().Where(s => s.IsEnabled).ToList();

    /// <summary>The first source that has <paramref name="id"/> <paramref name="version"/>, or null (with what each said).</summary>
    public (FindPackageByIdResource Resource, string Source)? Find(string id, string version, List<string> tried, CancellationToken ct)
    {
        using var cache = new SourceCacheContext();
        foreach (var source in Enabled)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                var resource = Repository.Factory.GetCoreV3(source).GetResourceAsync<FindPackageByIdResource>(ct).GetAwaiter().GetResult();
                if (resource is not null && resource.DoesPackageExistAsync(id, NuGetVersion.Parse(version), cache, NullLogger.Instance, ct).GetAwaiter().GetResult())
                    return (resource, source.Source);
                tried.Add(source.Source);
            }
            catch (Exception e) when (e is FatalProtocolException or HttpRequestException or IOException && e is not FileNotFoundException)
            {
                tried.Add($"{source.Source} ({e.Message.Split('\n')[0]})");
            }
        }
        return null;
    }

    /// <summary>Downloads the .nupkg into <paramref name="destination"/> from the first source that serves it; returns that source.
    /// Throws, naming the package and every source tried, when none does.</summary>
    public string Download(string id, string version, string destination, Action<string> starting, Action<long> transferred, string what, CancellationToken ct)
    {
        var tried = new List<string>();
        if (Find(id, version, tried, ct) is not { } found)
            throw new InvalidOperationException(
                $"{what} is not in this tool and none of the NuGet sources serves {id} {version}: {(tried.Count == 0 ? "no source is configured (dotnet nuget list source)" : string.Join("; ", tried))}. " +
                "Add a source that does (nuget.org does: dotnet nuget add source https://api.nuget.org/v3/index.json -n nuget.org).");
        starting(found.Source);
        using var cache = new SourceCacheContext();
        using (var file = File.Create(destination))
        using (var counting = new CountingStream(file, transferred))
            if (!found.Resource.CopyNupkgToStreamAsync(id, NuGetVersion.Parse(version), counting, cache, NullLogger.Instance, ct).GetAwaiter().GetResult())
                throw new InvalidOperationException($"{found.Source} listed {id} {version} but did not deliver it.");
        return found.Source;
    }

    /// <summary>Counts the bytes written through it.</summary>
    private sealed class CountingStream(Stream inner, Action<long> written) : Stream
    {
        private long _count;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            written(_count += count);
        }

        public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            await inner.WriteAsync(buffer.AsMemory(offset, count), cancellationToken);
            written(_count += count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken);
            written(_count += buffer.Length);
        }
    }
}
