using System.Text.Json;

namespace MlNetLlm.Estimators.Tests;

/// <summary>Entry point when a test runs this assembly as a program (the test host does not use it): the fresh-process scoring modes, and cuda-capability.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (FreshProcess.Run(args) is { } code) return code;
        if (args.Length == 1 && args[0] == "cuda-capability")
        {
            // What Precision.Auto decides on CUDA from the compute capability NVML reports (the NVML may be a fake).
            var (native, what) = MlNetLlm.Modeling.Runtime.CudaCapability.Describe();
            var auto = MlNetLlm.Modeling.Runtime.PrecisionSupport.Decide(MlNetLlm.Modeling.Runtime.Precision.Auto, "p", null, (native, what), null);
            Console.WriteLine(JsonSerializer.Serialize(new { native, what, auto = auto.Name }));
            return 0;
        }
        Console.Error.WriteLine($"usage: {FreshProcess.Usage} | cuda-capability");
        return 2;
    }

    public static Dictionary<string, List<float[]>> ScoreInFreshProcess(string zip, string inputCsv, bool withoutTorch = false) =>
        TestProcesses.ScoreInFreshProcess(typeof(Program).Assembly, zip, inputCsv, withoutTorch);

    public static string RunSelf(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        TestProcesses.RunSelf(typeof(Program).Assembly, args, environment);
}
