using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet.Data;

namespace MlNetLlm.TestSupport;

/// <summary>
/// What the fresh-process tests run: a test assembly's Main hands its arguments here first, so
///   dotnet MlNetLlm.X.Tests.dll score MODEL.zip INPUT.csv OUTPUT.json
/// proves a saved model loads with plain <c>mlContext.Model.Load</c> in a new process, writing every Single or
/// Single-vector output column as JSON (score-without-torch: the same, failing if scoring loaded TorchSharp).
/// </summary>
public static class FreshProcess
{
    /// <summary>The modes <see cref="Run"/> answers, for a program's usage line.</summary>
    public const string Usage = "score MODEL.zip INPUT.csv OUTPUT.json | score-without-torch MODEL.zip INPUT.csv OUTPUT.json";

    /// <summary>The exit code of the mode <paramref name="args"/> names, or null when it names none of these.</summary>
    public static int? Run(string[] args)
    {
        if (args.Length == 4 && args[0] == "score")
        {
            var ml = new MLContext(seed: 0);
            var model = ml.Model.Load(args[1], out _);
            var data = CsvTable.Load(args[2]).ToDataView(ml, textColumns: CsvTable.Load(args[2]).Header);
            File.WriteAllText(args[3], JsonSerializer.Serialize(TestProcesses.ScoredColumns(model.Transform(data))));
            return 0;
        }
        if (args.Length == 4 && args[0] == "score-without-torch")
        {
            // The same, for a model that must score without TorchSharp: fails if scoring loaded TorchSharp or libtorch.
            var ml = new MLContext(seed: 0);
            var model = ml.Model.Load(args[1], out _);
            var data = CsvTable.Load(args[2]).ToDataView(ml, textColumns: CsvTable.Load(args[2]).Header);
            var scored = TestProcesses.ScoredColumns(model.Transform(data));
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
        return null;
    }
}

/// <summary>Processes the tests start: the CLI, and a test assembly run as a program.</summary>
public static class TestProcesses
{
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

    /// <summary>Runs <paramref name="program"/> (a test assembly whose Main hands its arguments to
    /// <see cref="FreshProcess.Run"/>) in a new process to score <paramref name="zip"/>; returns its parsed output.</summary>
    public static Dictionary<string, List<float[]>> ScoreInFreshProcess(System.Reflection.Assembly program, string zip, string inputCsv, bool withoutTorch = false)
    {
        string output = Path.Combine(Path.GetDirectoryName(zip)!, "fresh-process-output.json");
        RunSelf(program, [withoutTorch ? "score-without-torch" : "score", zip, inputCsv, output]);
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

    /// <summary>Runs the test assembly <paramref name="program"/> as a program with <paramref name="args"/> (and extra
    /// environment variables) in a new process; returns its standard output, or throws with its standard error when it fails.</summary>
    public static string RunSelf(System.Reflection.Assembly program, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(program.Location);
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
