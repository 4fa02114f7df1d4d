using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet.Data;

namespace MlNetLlm.Tests;

/// <summary>
/// Entry point used when tests run this assembly as a separate program, to prove a saved model loads with plain
/// <c>mlContext.Model.Load</c> in a fresh process:
///   dotnet MlNetLlm.Tests.dll score MODEL.zip INPUT.csv OUTPUT.json
/// writes every Single or Single-vector output column of the transformed data as JSON. (The test host does not
/// use this Main.)
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 4 && args[0] == "score")
        {
            var ml = new MLContext(seed: 0);
            var model = ml.Model.Load(args[1], out _);
            var data = CsvTable.Load(args[2]).ToDataView(ml, textColumns: CsvTable.Load(args[2]).Header);
            File.WriteAllText(args[3], JsonSerializer.Serialize(ScoredColumns(model.Transform(data))));
            return 0;
        }
        if (args.Length == 1 && args[0] == "cuda-capability")
        {
            // What Precision.Auto decides on CUDA from the compute capability NVML reports (the NVML may be a fake).
            var (native, what) = MlNetLlm.Modeling.Runtime.CudaCapability.Describe();
            var auto = MlNetLlm.Modeling.Runtime.PrecisionSupport.Decide(MlNetLlm.Modeling.Runtime.Precision.Auto, "p", null, (native, what), null);
            Console.WriteLine(JsonSerializer.Serialize(new { native, what, auto = auto.Name }));
            return 0;
        }
        if (args.Length == 4 && args[0] == "score-without-torch")
        {
            // The same, for a model that must score without TorchSharp: fails if scoring loaded TorchSharp or libtorch.
            var ml = new MLContext(seed: 0);
            var model = ml.Model.Load(args[1], out _);
            var data = CsvTable.Load(args[2]).ToDataView(ml, textColumns: CsvTable.Load(args[2]).Header);
            var scored = ScoredColumns(model.Transform(data));
            var torch = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name!).Where(n => n.StartsWith("TorchSharp", StringComparison.Ordinal)).ToList();
            var natives = File.ReadAllLines("/proc/self/maps").Where(l => l.Contains("libtorch", StringComparison.Ordinal) || l.Contains("LibTorchSharp", StringComparison.Ordinal))
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Last()).Distinct().ToList();
            if (torch.Count + natives.Count > 0)
            {
                Console.Error.WriteLine($"scoring loaded {string.Join(", ", torch.Concat(natives))}");
                return 3;
            }
            File.WriteAllText(args[3], JsonSerializer.Serialize(scored));
            return 0;
        }
        if (args.Length == 2 && args[0] == "gpu-memory")
        {
            // GPU memory as NVML reports it, alone and recorded per trial by an experiment asked to run on CUDA
            // (tfidf+sdca never touches the GPU, so this needs no CUDA build of libtorch; the NVML may be a fake).
            string csv = Path.Combine(args[1], "topics.csv");
            File.WriteAllLines(csv, ["text,label", .. TextData.Topics3(60, seed: 5).Select(r => $"\"{r.Text}\",{r.Label}")]);
            var result = MlNetLlm.AutoMl.Experiments.TextExperiment.Run(new MLContext(1), new MlNetLlm.AutoMl.Experiments.ExperimentOptions
            {
                Data = new() { Dataset = csv, LabelColumn = "label", TextColumns = ["text"] }, Candidates = ["tfidf+sdca"], MaxTrials = 1,
                Device = MlNetLlm.Modeling.Runtime.DeviceOptions.Parse("cuda:0"),
            }, Path.Combine(args[1], "out"));
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                device0 = MlNetLlm.Modeling.Runtime.GpuMemory.InUse(0),
                device1 = MlNetLlm.Modeling.Runtime.GpuMemory.InUse(1),
                trialPeak = result.Trials.Single().PeakGpuMemoryBytes,
                why = MlNetLlm.Modeling.Runtime.GpuMemory.Unavailable,
            }));
            return 0;
        }
        if (args.Length == 2 && args[0] == "hf-char-classes")
        {
            // Regenerates src/Tokenization/HuggingFaceCharClasses.g.cs by probing Hugging Face's tokenizers.
            string folder = Directory.CreateTempSubdirectory("mlnetllm-probe-").FullName;
            File.WriteAllText(args[1], HuggingFaceCharProbe.ToSource(HuggingFaceCharProbe.Differences(folder)));
            Directory.Delete(folder, recursive: true);
            return 0;
        }
        if (args.Length == 2 && args[0] == "bundled-folder")
        {
            // Materialises a bundled model in the cache MLNETLLM_MODEL_CACHE names (two of these run at once in a test).
            Console.WriteLine(MlNetLlm.Modeling.Checkpoints.CheckpointLocator.Resolve(args[1]));
            return 0;
        }
        Console.Error.WriteLine("usage: score MODEL.zip INPUT.csv OUTPUT.json | score-without-torch MODEL.zip INPUT.csv OUTPUT.json | gpu-memory DIR | bundled-folder NAME | hf-char-classes FILE");
        return 2;
    }

    /// <summary>Float and float-vector columns of the last occurrence of each name, as rows of numbers.</summary>
    public static Dictionary<string, List<float[]>> ScoredColumns(IDataView data)
    {
        var result = new Dictionary<string, List<float[]>>();
        var columns = data.Schema.Where(c => !c.IsHidden && (c.Type == NumberDataViewType.Single || c.Type is VectorDataViewType { ItemType: NumberDataViewType { } n } && n == NumberDataViewType.Single)).ToList();
        foreach (var c in columns) result[c.Name] = [];
        using var cursor = data.GetRowCursor(columns);
        var getters = columns.Select(c => c.Type is VectorDataViewType
            ? (Func<float[]>)(() => { VBuffer<float> v = default; cursor.GetGetter<VBuffer<float>>(c)(ref v); return v.DenseValues().ToArray(); })
            : () => { float v = 0; cursor.GetGetter<float>(c)(ref v); return [v]; }).ToList();
        while (cursor.MoveNext())
            for (int i = 0; i < columns.Count; i++) result[columns[i].Name].Add(getters[i]());
        return result;
    }

    /// <summary>Runs this test assembly as a program in a new process and returns its parsed output.</summary>
    public static Dictionary<string, List<float[]>> ScoreInFreshProcess(string zip, string inputCsv, bool withoutTorch = false)
    {
        string output = Path.Combine(Path.GetDirectoryName(zip)!, "fresh-process-output.json");
        RunSelf([withoutTorch ? "score-without-torch" : "score", zip, inputCsv, output]);
        return JsonSerializer.Deserialize<Dictionary<string, List<float[]>>>(File.ReadAllText(output))!;
    }

    /// <summary>Starts the CLI (MlNetLlm.Cli.dll, copied next to the tests) as its own process; messages are not wrapped.</summary>
    /// <param name="defaultSignals">Start it with SIGINT and SIGTERM at their default handling: a test run started in
    /// the background inherits SIGINT as ignored (shells do that to background jobs), and so would the CLI.</param>
    public static System.Diagnostics.Process StartCli(IEnumerable<string> args, bool defaultSignals = false, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(defaultSignals ? "env" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (defaultSignals)
        {
            psi.ArgumentList.Add("--default-signal=INT,TERM"); // coreutils env: exec with these signals back at SIG_DFL
            psi.ArgumentList.Add("dotnet");
        }
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MlNetLlm.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["COLUMNS"] = "1000";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) psi.Environment[name] = value;
        return System.Diagnostics.Process.Start(psi)!;
    }

    /// <summary>Waits (4 minutes at most) for a CLI process; its exit code and everything it printed.</summary>
    public static (int Code, string Output) FinishCli(System.Diagnostics.Process p)
    {
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(4)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("an mlnet-llm process did not finish in 4 minutes");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    public static (int Code, string Output) RunCli(params string[] args) => FinishCli(StartCli(args));

    /// <summary>Runs this test assembly as a program with <paramref name="args"/> (and extra environment variables) in
    /// a new process; returns its standard output, or throws with its standard error when it fails.</summary>
    public static string RunSelf(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(typeof(Program).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) psi.Environment[name] = value;
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync(); // both streams at once: a full pipe on either would block the child
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"fresh process failed ({p.ExitCode}): {stderr}");
        return stdout.Result;
    }
}
