using System.Runtime.InteropServices;

namespace MlNetLlm.Modeling.Runtime;

/// <summary>
/// GPU memory in use, read through NVML (libnvidia-ml.so.1, installed with the NVIDIA driver). TorchSharp exposes
/// no allocator statistics, so this reads what the driver sees: the memory this process holds on the device when the
/// driver lists it, else the memory in use on the whole device (which then includes other processes).
/// Every member returns null, never throws, where there is no NVIDIA driver or no such device.
/// </summary>
internal static class GpuMemory
{
    private const int Success = 0, InsufficientSize = 7;

    [StructLayout(LayoutKind.Sequential)]
    private struct MemoryInfo
    {
        public ulong Total, Free, Used;
    }

    /// <summary>nvmlProcessInfo_t (v2/v3 layout: pid, used bytes, GPU and compute instance ids).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ProcessInfo
    {
        public uint Pid;
        public ulong UsedGpuMemory;
        public uint GpuInstanceId, ComputeInstanceId;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int InitFn();
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int HandleByIndexFn(uint index, out IntPtr device);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int MemoryInfoFn(IntPtr device, out MemoryInfo memory);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int ProcessesFn(IntPtr device, ref uint count, [Out] ProcessInfo[]? infos);

    private sealed record Api(HandleByIndexFn HandleByIndex, MemoryInfoFn MemoryInfo, ProcessesFn? Processes);

    private static readonly Lazy<Api?> Nvml = new(Load);

    /// <summary>Environment variable naming the NVML library to load instead of the driver's (the tests point it at a fake).</summary>
    public const string LibraryVariable = "MLNETLLM_NVML_LIBRARY";

    /// <summary>Why NVML is not usable here (null when it is), for messages.</summary>
    public static string? Unavailable { get; private set; }

    private static Api? Load()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsWindows()) { Unavailable = "NVML needs Linux or Windows"; return null; }
        string name = Environment.GetEnvironmentVariable(LibraryVariable) is { Length: > 0 } custom ? custom
            : OperatingSystem.IsWindows() ? "nvml.dll" : "libnvidia-ml.so.1";
        if (!NativeLibrary.TryLoad(name, out var lib)) { Unavailable = $"{name} not found (no NVIDIA driver)"; return null; }
        T? Fn<T>(string export) where T : Delegate =>
            NativeLibrary.TryGetExport(lib, export, out var p) ? Marshal.GetDelegateForFunctionPointer<T>(p) : null;
        var init = Fn<InitFn>("nvmlInit_v2");
        var handle = Fn<HandleByIndexFn>("nvmlDeviceGetHandleByIndex_v2");
        var memory = Fn<MemoryInfoFn>("nvmlDeviceGetMemoryInfo");
        if (init is null || handle is null || memory is null) { Unavailable = $"{name} lacks the NVML functions needed"; return null; }
        int status = init();
        if (status != Success) { Unavailable = $"nvmlInit_v2 returned {status}"; return null; }
        // v3 (driver 510+) has the layout above; older drivers' v2 has the same one.
        var processes = Fn<ProcessesFn>("nvmlDeviceGetComputeRunningProcesses_v3") ?? Fn<ProcessesFn>("nvmlDeviceGetComputeRunningProcesses_v2");
        return new Api(handle, memory, processes);
    }

    /// <summary>Bytes in use on CUDA device <paramref name="device"/>: this process's when the driver lists it, else
    /// the device's total in use. Null without NVML or such a device.</summary>
    public static long? InUse(int device)
    {
        try
        {
            if (Nvml.Value is not { } api || api.HandleByIndex((uint)device, out var handle) != Success) return null;
            if (ThisProcess(api, handle) is { } mine) return mine;
            return api.MemoryInfo(handle, out var info) == Success ? (long)info.Used : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or MarshalDirectiveException)
        {
            Unavailable = e.Message;
            return null;
        }
    }

    private static long? ThisProcess(Api api, IntPtr handle)
    {
        if (api.Processes is null) return null;
        uint count = 0;
        int status = api.Processes(handle, ref count, null);
        if (status == Success && count == 0) return null; // nothing listed: in a container the driver may not see our pid
        if (status != InsufficientSize && status != Success) return null;
        var infos = new ProcessInfo[count + 4]; // room for processes that start meanwhile
        count = (uint)infos.Length;
        if (api.Processes(handle, ref count, infos) != Success) return null;
        int pid = Environment.ProcessId;
        for (int i = 0; i < count; i++)
            if (infos[i].Pid == pid && infos[i].UsedGpuMemory != ulong.MaxValue) return (long)infos[i].UsedGpuMemory; // MaxValue: "not available"
        return null;
    }
}
