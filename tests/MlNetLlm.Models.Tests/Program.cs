namespace MlNetLlm.Models.Tests;

/// <summary>Entry point when a test runs this assembly as a program (the test host does not use it): the fresh-process scoring modes, and bundled-folder.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (FreshProcess.Run(args) is { } code) return code;
        if (args.Length == 2 && args[0] == "bundled-folder")
        {
            // Materialises a bundled model in the cache MLNETLLM_MODEL_CACHE names (two of these run at once in a test).
            Console.WriteLine(MlNetLlm.Modeling.Checkpoints.CheckpointLocator.Resolve(args[1]));
            return 0;
        }
        Console.Error.WriteLine($"usage: {FreshProcess.Usage} | bundled-folder NAME");
        return 2;
    }

    public static Dictionary<string, List<float[]>> ScoreInFreshProcess(string zip, string inputCsv, bool withoutTorch = false) =>
        TestProcesses.ScoreInFreshProcess(typeof(Program).Assembly, zip, inputCsv, withoutTorch);

    public static string RunSelf(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        TestProcesses.RunSelf(typeof(Program).Assembly, args, environment);
}
