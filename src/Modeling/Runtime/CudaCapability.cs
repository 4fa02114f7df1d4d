using System.Globalization;
using System.Runtime.InteropServices;

namespace MlNetLlm.Modeling.Runtime;

/// <summary>
/// CUDA compute capabilities, read through NVML: TorchSharp 0.107 has no get_device_capability. NVML numbers GPUs in
/// PCI order, CUDA may not (CUDA_VISIBLE_DEVICES, CUDA_DEVICE_ORDER), so the question answered is whether EVERY GPU the
/// driver lists computes bf16 natively (capability 8.0 or more): then whichever one CUDA runs on does.
/// </summary>
internal static class CudaCapability
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int InitFn();
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int CountFn(out uint count);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int HandleByIndexFn(uint index, out IntPtr device);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int CapabilityFn(IntPtr device, out int major, out int minor);

    private static readonly Lazy<(IReadOnlyList<(int Major, int Minor)>? Capabilities, string? Why)> Read = new(ReadAll);

    /// <summary>Every GPU's (major, minor), or null with the reason it could not be read.</summary>
    public static IReadOnlyList<(int Major, int Minor)>? All => Read.Value.Capabilities;

    /// <summary>Whether all GPUs compute bf16 natively, and what was read, for <see cref="PrecisionSupport"/>.</summary>
    public static (bool Native, string What) Describe() => Describe(Read.Value.Capabilities, Read.Value.Why);

    public static (bool Native, string What) Describe(IReadOnlyList<(int Major, int Minor)>? capabilities, string? why)
    {
        if (capabilities is null || capabilities.Count == 0)
            return (false, $"the GPU's compute capability cannot be read (TorchSharp has no call for it; NVML: {why ?? "no GPU listed"}), so native bf16 is not known");
        string list = string.Join(", ", capabilities.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Major}.{c.Minor}")));
        return capabilities.All(c => c.Major >= 8)
            ? (true, $"the GPU has compute capability {list} (native bf16 from 8.0)")
            : (false, $"the GPU has compute capability {list}, below 8.0: no native bf16");
    }

    private static (IReadOnlyList<(int, int)>?, string?) ReadAll()
    {
        try
        {
            string name = Environment.GetEnvironmentVariable(GpuMemory.LibraryVariable) is { Length: > 0 } custom ? custom
                : OperatingSystem.IsWindows() ? "nvml.dll" : "libnvidia-ml.so.1";
            if (!NativeLibrary.TryLoad(name, out var lib)) return (null, $"{name} not found");
            T? Fn<T>(string export) where T : Delegate =>
                NativeLibrary.TryGetExport(lib, export, out var p) ? Marshal.GetDelegateForFunctionPointer<T>(p) : null;
            var init = Fn<InitFn>("nvmlInit_v2");
            var count = Fn<CountFn>("nvmlDeviceGetCount_v2");
            var handle = Fn<HandleByIndexFn>("nvmlDeviceGetHandleByIndex_v2");
            var capability = Fn<CapabilityFn>("nvmlDeviceGetCudaComputeCapability");
            if (init is null || count is null || handle is null || capability is null) return (null, $"{name} lacks nvmlDeviceGetCudaComputeCapability");
            if (init() is var s and not 0) return (null, $"nvmlInit_v2 returned {s}");
            if (count(out uint n) is var c and not 0) return (null, $"nvmlDeviceGetCount_v2 returned {c}");
            var list = new List<(int, int)>();
            for (uint i = 0; i < n; i++)
            {
                if (handle(i, out var device) != 0 || capability(device, out int major, out int minor) != 0)
                    return (null, $"GPU {i}'s capability could not be read");
                list.Add((major, minor));
            }
            return (list, null);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or MarshalDirectiveException)
        {
            return (null, e.Message);
        }
    }
}
