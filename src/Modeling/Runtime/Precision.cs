using TorchSharp;

namespace MlNetLlm.Modeling.Runtime;

/// <summary>The number format the matrix products of a model are computed in. Weights, optimizer state, layer norms,
/// pooling, the head and the loss stay fp32 whatever is chosen (<see cref="Autocast"/>).</summary>
public enum Precision
{
    /// <summary>bf16 where the device computes it natively (a CPU with avx512_bf16 or amx_bf16, a CUDA GPU of compute
    /// capability 8.0 or more), fp32 elsewhere and for encoders bf16 does not apply to (the LSTM).</summary>
    Auto,
    /// <summary>Everything in fp32.</summary>
    Fp32,
    /// <summary>Matrix products (linear layers, attention) in bf16 with fp32 master weights. On a CPU without native bf16
    /// libtorch emulates it: it works, slower than fp32 (<see cref="PrecisionChoice.Reason"/> says so).</summary>
    Bf16,
}

/// <summary>A resolved precision (never <see cref="Precision.Auto"/>) and why it was chosen, for logs and reports.</summary>
public sealed record PrecisionChoice(Precision Value, string Reason)
{
    /// <summary>"fp32" or "bf16", as metrics files and trial stores write it.</summary>
    public string Name => Value.ToName();

    /// <summary>True when bf16 was asked for explicitly on a device that only emulates it (slower than fp32).</summary>
    public bool Emulated { get; init; }
}

/// <summary>Which precision a device runs natively, and the one place <see cref="Precision.Auto"/> is decided.</summary>
internal static class PrecisionSupport
{
    private static readonly Lazy<string?> CpuFlag = new(() => CpuBf16Flag(ReadCpuFlags()));

    /// <summary>The /proc/cpuinfo flag that shows this CPU computes bf16 natively (amx_bf16, avx512_bf16), or null.</summary>
    public static string? CpuNativeBf16Flag => CpuFlag.Value;

    /// <summary>The flag among <paramref name="flags"/> that means native bf16 (AMX first, then AVX512-BF16), or null.</summary>
    public static string? CpuBf16Flag(IReadOnlyCollection<string> flags) =>
        flags.Contains("amx_bf16") ? "amx_bf16" : flags.Contains("avx512_bf16") ? "avx512_bf16" : null;

    private static IReadOnlyCollection<string> ReadCpuFlags()
    {
        try
        {
            if (!OperatingSystem.IsLinux() || !File.Exists("/proc/cpuinfo")) return [];
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
            return line is null ? [] : line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        }
        catch (IOException) { return []; }
        catch (UnauthorizedAccessException) { return []; }
    }

    /// <summary>
    /// Resolves <paramref name="requested"/> for the device <paramref name="device"/> puts the work on (CPU or CUDA,
    /// without touching the thread count). <paramref name="bf16Unsupported"/>: why the model cannot run in bf16 at all
    /// (e.g. the LSTM encoder), or null. An explicit Bf16 the model cannot run is refused naming <paramref name="optionName"/>.
    /// </summary>
    public static PrecisionChoice Resolve(Precision requested, DeviceOptions device, string optionName, string? bf16Unsupported = null)
    {
        int? cuda = device.CudaDeviceIndex();
        return Decide(requested, optionName, bf16Unsupported, cuda is null ? null : CudaCapability.Describe(), CpuNativeBf16Flag);
    }

    /// <summary><see cref="Resolve(Precision, DeviceOptions, string, string?)"/> for a device already in use.</summary>
    public static PrecisionChoice Resolve(Precision requested, torch.Device device, string optionName, string? bf16Unsupported = null) =>
        Decide(requested, optionName, bf16Unsupported, device.type == DeviceType.CUDA ? CudaCapability.Describe() : null, CpuNativeBf16Flag);

    /// <summary>The decision itself, from what was found out about the device (pure, so every branch is testable).</summary>
    /// <param name="cuda">Null on the CPU; on CUDA whether all GPUs NVML lists compute bf16 natively, and what was read.</param>
    /// <param name="cpuFlag">The CPU's native-bf16 flag, or null.</param>
    public static PrecisionChoice Decide(Precision requested, string optionName, string? bf16Unsupported, (bool Native, string What)? cuda, string? cpuFlag)
    {
        if (!Enum.IsDefined(requested))
            throw new ArgumentOutOfRangeException(optionName, requested, $"{optionName} {(int)requested} is not a precision: use Auto, Fp32 or Bf16.");
        if (requested == Precision.Fp32) return new(Precision.Fp32, "asked for");
        if (bf16Unsupported is not null)
        {
            if (requested == Precision.Bf16)
                throw new ArgumentException($"{optionName} is Bf16, but {bf16Unsupported}. Use {optionName} = Auto or Fp32.", optionName);
            return new(Precision.Fp32, bf16Unsupported);
        }
        bool native;
        string what;
        if (cuda is { } c) (native, what) = c;
        else (native, what) = cpuFlag is not null ? (true, $"the CPU has {cpuFlag}") : (false, "the CPU has neither avx512_bf16 nor amx_bf16");
        if (requested == Precision.Bf16)
            return native ? new(Precision.Bf16, $"asked for; {what}") : new(Precision.Bf16, $"asked for, but {what}: bf16 is emulated and slower than fp32 here") { Emulated = true };
        return new(native ? Precision.Bf16 : Precision.Fp32, what);
    }

    /// <summary>"fp32" / "bf16" / "auto".</summary>
    public static string ToName(this Precision p) => p switch
    {
        Precision.Fp32 => "fp32",
        Precision.Bf16 => "bf16",
        _ => "auto",
    };

    /// <summary>The scalar type matrix products run in for a resolved precision.</summary>
    public static torch.ScalarType ComputeType(Precision resolved) => resolved switch
    {
        Precision.Bf16 => torch.ScalarType.BFloat16,
        Precision.Fp32 => torch.ScalarType.Float32,
        _ => throw new ArgumentException("Precision.Auto must be resolved (PrecisionSupport.Resolve) before it is run.", nameof(resolved)),
    };
}
