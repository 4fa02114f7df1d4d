using TorchSharp;

namespace MlNetLlm.Modeling.Runtime;

/// <summary>Which processor runs the model.</summary>
public enum ComputeDevice
{
    /// <summary>The CPU (default).</summary>
    Cpu,
    /// <summary>A CUDA GPU, chosen by <see cref="DeviceOptions.CudaDeviceId"/>; an error if none is available.</summary>
    Cuda,
    /// <summary>CUDA when available, else the CPU.</summary>
    Auto,
}

/// <summary>Where a model runs and with how many CPU threads. Every option is honoured or rejected, never ignored.</summary>
public sealed class DeviceOptions
{
    public ComputeDevice Device { get; set; } = ComputeDevice.Cpu;

    /// <summary>CUDA device index, for <see cref="ComputeDevice.Cuda"/> and <see cref="ComputeDevice.Auto"/>.</summary>
    public int CudaDeviceId { get; set; }

    /// <summary>Intra-op CPU threads for libtorch; null leaves libtorch's default (one per core).</summary>
    public int? Threads { get; set; }

    public static DeviceOptions Cpu => new();

    /// <summary>Parses "cpu", "auto", "cuda" or "cuda:N" (case-insensitive).</summary>
    public static DeviceOptions Parse(string text, int? threads = null)
    {
        string s = text.Trim().ToLowerInvariant();
        var o = new DeviceOptions { Threads = threads };
        if (s == "cpu") o.Device = ComputeDevice.Cpu;
        else if (s == "auto") o.Device = ComputeDevice.Auto;
        else if (s == "cuda" || s == "gpu") o.Device = ComputeDevice.Cuda;
        else if (s.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(s[5..], out int id) && id >= 0)
        {
            o.Device = ComputeDevice.Cuda;
            o.CudaDeviceId = id;
        }
        else
            throw new ArgumentException($"DeviceOptions.Device '{text}' is not understood: use cpu, auto, cuda or cuda:N.", nameof(text));
        return o;
    }

    /// <summary>
    /// Loads libtorch if needed, applies <see cref="Threads"/>, and returns the torch device.
    /// Throws when CUDA is asked for and not there, or the device id is out of range.
    /// </summary>
    internal torch.Device Resolve()
    {
        TorchRuntime.EnsureLoaded(cuda: Device == ComputeDevice.Cuda);
        if (Threads is { } n)
        {
            if (n <= 0) throw new ArgumentOutOfRangeException(nameof(Threads), n, "DeviceOptions.Threads must be positive.");
            torch.set_num_threads(n);
        }
        if (CudaDeviceId < 0)
            throw new ArgumentOutOfRangeException(nameof(CudaDeviceId), CudaDeviceId, "DeviceOptions.CudaDeviceId must be 0 or more.");
        switch (Device)
        {
            case ComputeDevice.Cpu:
                return torch.CPU;
            case ComputeDevice.Auto when !torch.cuda.is_available():
                return torch.CPU;
            default:
                if (!torch.cuda.is_available())
                    throw new InvalidOperationException(
                        "DeviceOptions.Device is Cuda but CUDA is not available: this process loaded the CPU build of libtorch " +
                        "(build with -p:TorchBackend=cuda where your NuGet feed serves TorchSharp-cuda-linux) or no GPU/driver is visible. Use Device = Cpu or Auto.");
                int count = torch.cuda.device_count();
                if (CudaDeviceId >= count)
                    throw new ArgumentOutOfRangeException(nameof(CudaDeviceId), CudaDeviceId, $"CUDA device {CudaDeviceId} requested but only {count} visible.");
                return torch.device(DeviceType.CUDA, CudaDeviceId);
        }
    }

    /// <summary>
    /// The CUDA device this option runs on, or null for the CPU, without touching the thread count: Cpu is null,
    /// Cuda is <see cref="CudaDeviceId"/>, Auto loads libtorch to ask whether CUDA is there (null when it cannot load;
    /// the run itself then says why). For callers that only need to know where the work goes (memory sampling).
    /// </summary>
    public int? CudaDeviceIndex()
    {
        switch (Device)
        {
            case ComputeDevice.Cpu: return null;
            case ComputeDevice.Cuda: return CudaDeviceId;
            default:
                try
                {
                    TorchRuntime.EnsureLoaded();
                    return torch.cuda.is_available() ? CudaDeviceId : null;
                }
                catch (Exception e) when (e is InvalidOperationException or DllNotFoundException or TypeInitializationException or TorchLoadException)
                {
                    return null;
                }
        }
    }

    public override string ToString() => Device switch
    {
        ComputeDevice.Cuda => $"cuda:{CudaDeviceId}",
        ComputeDevice.Auto => "auto",
        _ => "cpu",
    } + (Threads is { } t ? $" ({t} threads)" : "");
}
