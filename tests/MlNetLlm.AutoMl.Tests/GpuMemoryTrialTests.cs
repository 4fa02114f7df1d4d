using System.Text.Json;
using MlNetLlm.Modeling.Runtime;

namespace MlNetLlm.AutoMl.Tests;

/// <summary>GPU memory as the trials record it, read through a fake NVML (tests/fixtures/fake-nvml) in a child process.</summary>
public class GpuMemoryTrialTests
{
    private static JsonElement GpuMemoryInChildProcess(Fixtures.TempDir dir, bool hideSelf)
    {
        var environment = new Dictionary<string, string>
        {
            [GpuMemory.LibraryVariable] = Path.Combine(AppContext.BaseDirectory, "fixtures", "fake-nvml", "libfake-nvml.so"),
        };
        if (hideSelf) environment["FAKE_NVML_HIDE_SELF"] = "1";
        string stdout = Program.RunSelf(["gpu-memory", dir.Path], environment);
        return JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement.Clone();
    }

    [Fact]
    public void Trials_on_cuda_record_this_process_gpu_memory_from_nvml()
    {
        // A fake libnvidia-ml (tests/fixtures/fake-nvml) lists this process at 512 MiB on a device with 3 GiB in use.
        using var dir = new Fixtures.TempDir();
        var r = GpuMemoryInChildProcess(dir, hideSelf: false);
        Assert.Equal(512L << 20, r.GetProperty("device0").GetInt64());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("device1").ValueKind);
        Assert.Equal(512L << 20, r.GetProperty("trialPeak").GetInt64());
    }

    [Fact]
    public void Gpu_memory_falls_back_to_the_device_total_when_the_driver_does_not_list_this_process()
    {
        using var dir = new Fixtures.TempDir();
        var r = GpuMemoryInChildProcess(dir, hideSelf: true);
        Assert.Equal(3L << 30, r.GetProperty("device0").GetInt64());
        Assert.Equal(3L << 30, r.GetProperty("trialPeak").GetInt64());
    }
}
