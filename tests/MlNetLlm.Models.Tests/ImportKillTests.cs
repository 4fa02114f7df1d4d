using System.Diagnostics;
using MlNetLlm.Models;

namespace MlNetLlm.Models.Tests;

/// <summary>A bundled-model import SIGKILLed halfway (this assembly run as a program) and the next import after it.</summary>
public class ImportKillTests
{
    [Fact]
    public void An_import_killed_midway_leaves_a_folder_the_next_import_removes()
    {
        using var dir = new Fixtures.TempDir();
        string cache = dir.File("cache");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(typeof(Program).Assembly.Location);
        psi.ArgumentList.Add("bundled-folder");
        psi.ArgumentList.Add("arctic-xs");
        psi.Environment[BundledModels.CacheVariable] = cache;
        using (var importer = Process.Start(psi)!)
        {
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (!(Directory.Exists(cache) && Directory.GetDirectories(cache, ".import-*").Length > 0) && !importer.HasExited && DateTime.UtcNow < deadline)
                Thread.Sleep(10);
            importer.Kill(); // SIGKILL: no finally block runs
            importer.WaitForExit();
        }
        Assert.NotEmpty(Directory.GetDirectories(cache, ".import-arctic-xs-*")); // what the killed importer left

        string folder = new BundledModels(cache).GetFolder("arctic-xs");
        Assert.Empty(Directory.GetDirectories(cache, ".import-*"));
        Assert.Equal([folder], Directory.GetDirectories(cache));
        using var model = MlNetLlm.Modeling.PretrainedTransformer.Load(folder);
        Assert.Equal(384, model.Config.HiddenSize);
    }
}
