namespace MlNetLlm.Onnx.Tests;

/// <summary>Entry point when a test runs this assembly as a program (the test host does not use it): the fresh-process scoring modes (score-without-torch proves ONNX scoring loads no TorchSharp).</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (FreshProcess.Run(args) is { } code) return code;
        Console.Error.WriteLine($"usage: {FreshProcess.Usage}");
        return 2;
    }

    public static Dictionary<string, List<float[]>> ScoreInFreshProcess(string zip, string inputCsv, bool withoutTorch = false) =>
        TestProcesses.ScoreInFreshProcess(typeof(Program).Assembly, zip, inputCsv, withoutTorch);
}
