using System.Text.Json;
using MlNetLlm.Modeling.Runtime;
using TorchSharp;

namespace MlNetLlm.Modeling.Tests;

public class RuntimeTests
{
    private static string OutputShim =>
        Directory.EnumerateFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).Single();

    [Fact]
    public void Build_marks_the_GLIBCXX_3_4_32_requirement_weak_in_the_output_copy()
    {
        var needs = ElfVersionNeeds.Read(OutputShim);
        var req = needs.Where(n => n.Version == "GLIBCXX_3.4.32").ToList();
        // The shim of TorchSharp 0.107 asks for it; the build must have marked it weak (and nothing else).
        Assert.NotEmpty(req);
        Assert.All(req, n => Assert.True(n.Weak));
        Assert.Contains(needs, n => n.Version == "GLIBCXX_3.4.18" && !n.Weak);
    }

    [Fact]
    public void Marking_weak_flips_only_the_named_version_and_is_idempotent()
    {
        // The package's own shim, as NuGet restored it: the requirement is still strong there.
        string original = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES") ??
            Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
            "torchsharp", typeof(torch).Assembly.GetName().Version!.ToString(3), "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        byte[] b = File.ReadAllBytes(original);
        var before = ElfVersionNeeds.Read(b, original);
        Assert.Contains(before, n => n.Version == "GLIBCXX_3.4.32" && !n.Weak);
        byte[] copy = (byte[])b.Clone();
        var (found, changed) = ElfVersionNeeds.MarkWeak(copy, original, "GLIBCXX_3.4.32");
        Assert.Equal(before.Count(n => n.Version == "GLIBCXX_3.4.32"), found);
        Assert.Equal(found, changed);
        var after = ElfVersionNeeds.Read(copy, original);
        Assert.Equal(before.Select(n => (n.Library, n.Version, n.Weak || n.Version == "GLIBCXX_3.4.32")), after.Select(n => (n.Library, n.Version, n.Weak)));
        // Only the flag bytes moved, and the build's copy is byte for byte this result.
        Assert.Equal(changed, Enumerable.Range(0, b.Length).Count(i => b[i] != copy[i]));
        Assert.Equal(copy, File.ReadAllBytes(OutputShim));
        Assert.Equal((found, 0), ElfVersionNeeds.MarkWeak(copy, original, "GLIBCXX_3.4.32"));
    }

    [Fact]
    public void Torch_loads_and_computes()
    {
        TorchRuntime.EnsureLoaded();
        using var t = torch.ones(3, 3);
        Assert.Equal(9f, t.sum().item<float>());
    }

    [Fact]
    public void Diagnosis_names_the_missing_library_and_the_fix()
    {
        using var dir = new Fixtures.TempDir();
        string message = TorchRuntime.Diagnose(dir.Path, "original torch message");
        Assert.Contains("libLibTorchSharp.so was not found", message);
        Assert.Contains("original torch message", message);

        // A copy of the shim with the requirement still strong, next to no libtorch.so: both causes are named.
        var shimCopy = dir.File("libLibTorchSharp.so");
        byte[] bytes = File.ReadAllBytes(OutputShim);
        File.WriteAllBytes(shimCopy, bytes);
        message = TorchRuntime.Diagnose(dir.Path, "x");
        Assert.Contains("libtorch.so is not under", message);
        Assert.Contains("libtorch-cpu-linux-x64", message);
    }

    [Fact]
    public void Missing_GLIBCXX_versions_are_found_against_a_given_libstdcxx()
    {
        using var dir = new Fixtures.TempDir();
        // A fake libstdc++ that provides only GLIBCXX_3.4.18: every other strong requirement is missing.
        var fakeStd = dir.File("libstdc++.so.6");
        File.WriteAllBytes(fakeStd, "GLIBCXX_3.4.18\0"u8.ToArray());
        var missing = TorchRuntime.MissingStdCxxVersions(OutputShim, fakeStd);
        Assert.DoesNotContain("GLIBCXX_3.4.18", missing);
        Assert.DoesNotContain("GLIBCXX_3.4.32", missing); // weak after the build patch
        Assert.Contains("GLIBCXX_3.4.21", missing);
    }

    [Theory]
    [InlineData("cpu", ComputeDevice.Cpu, 0)]
    [InlineData("CUDA", ComputeDevice.Cuda, 0)]
    [InlineData("cuda:3", ComputeDevice.Cuda, 3)]
    [InlineData("auto", ComputeDevice.Auto, 0)]
    public void Device_strings_parse(string text, ComputeDevice device, int id)
    {
        var o = DeviceOptions.Parse(text);
        Assert.Equal(device, o.Device);
        Assert.Equal(id, o.CudaDeviceId);
    }

    [Fact]
    public void Bad_device_string_names_the_value()
    {
        var ex = Assert.Throws<ArgumentException>(() => DeviceOptions.Parse("tpu:0"));
        Assert.Contains("tpu:0", ex.Message);
    }

    [Fact]
    public void Cuda_request_is_honoured_or_rejected_never_ignored()
    {
        var o = new DeviceOptions { Device = ComputeDevice.Cuda };
        if (torch.cuda.is_available())
            Assert.Equal(DeviceType.CUDA, o.Resolve().type);
        else
            Assert.Contains("CUDA is not available", Assert.Throws<InvalidOperationException>(() => o.Resolve()).Message);
        var auto = new DeviceOptions { Device = ComputeDevice.Auto }.Resolve();
        Assert.Equal(torch.cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, auto.type);
    }

    [Fact]
    public void Thread_count_is_applied()
    {
        int before = torch.get_num_threads();
        try
        {
            new DeviceOptions { Threads = 1 }.Resolve();
            Assert.Equal(1, torch.get_num_threads());
            Assert.Throws<ArgumentOutOfRangeException>(() => new DeviceOptions { Threads = 0 }.Resolve());
        }
        finally
        {
            torch.set_num_threads(before);
        }
    }

    [Fact]
    public void Gpu_memory_is_read_through_nvml_where_a_driver_is_and_is_null_with_a_reason_where_not()
    {
        bool driver = System.Runtime.InteropServices.NativeLibrary.TryLoad("libnvidia-ml.so.1", out _);
        long? used = GpuMemory.InUse(0);
        if (driver)
        {
            Assert.True(used > 0, GpuMemory.Unavailable);
        }
        else
        {
            Assert.Null(used);
            Assert.Contains("libnvidia-ml.so.1", GpuMemory.Unavailable);
        }
        Assert.Null(GpuMemory.InUse(4096)); // no such device: null, not an exception
    }
}
