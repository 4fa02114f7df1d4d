using System.Diagnostics;
using MlNetLlm.Modeling.Runtime;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>Samples the process working set, and GPU memory when the trial runs on CUDA (<see cref="GpuMemory"/>),
/// every 100 ms while a trial runs, and keeps the peaks.</summary>
internal sealed class PeakMemorySampler : IDisposable
{
    private readonly Timer _timer;
    private readonly int? _cudaDevice;
    private long _peak = Environment.WorkingSet, _peakGpu = -1;

    public PeakMemorySampler(DeviceOptions device)
    {
        _cudaDevice = device.CudaDeviceIndex(); // on the CPU, NVML's numbers would be other processes' memory
        _timer = new Timer(_ => Sample(), null, 0, 100);
    }

    private void Sample()
    {
        Max(ref _peak, Environment.WorkingSet);
        if (_cudaDevice is { } d && GpuMemory.InUse(d) is { } gpu) Max(ref _peakGpu, gpu);
    }

    private static void Max(ref long peak, long now)
    {
        long seen;
        while (now > (seen = Interlocked.Read(ref peak)) && Interlocked.CompareExchange(ref peak, now, seen) != seen) { }
    }

    public TrialResources Resources(Stopwatch sw)
    {
        Sample();
        long gpu = Interlocked.Read(ref _peakGpu);
        return new TrialResources { DurationSeconds = sw.Elapsed.TotalSeconds, PeakMemoryBytes = Interlocked.Read(ref _peak), PeakGpuMemoryBytes = gpu >= 0 ? gpu : null };
    }

    public void Dispose() => _timer.Dispose();
}
