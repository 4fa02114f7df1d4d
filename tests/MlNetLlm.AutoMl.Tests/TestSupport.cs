using System.Collections.Concurrent;
using System.Diagnostics;

namespace MlNetLlm.AutoMl.Tests;

/// <summary>A temporary folder deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mlnetllm-automl-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Now += by;
}

/// <summary>This test assembly run as a worker process (see <see cref="Program"/>), with its output collected.</summary>
public sealed class WorkerProcess : IDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> lines = new();
    private readonly ConcurrentQueue<string> errors = new();

    public WorkerProcess(params string[] args)
    {
        var psi = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(typeof(Program).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) errors.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public static WorkerProcess Start(string store, string experiment, string workerId, int epochs, int msPerEpoch, string? goFile = null) =>
        goFile is null
            ? new WorkerProcess("worker", store, experiment, workerId, epochs.ToString(), msPerEpoch.ToString())
            : new WorkerProcess("worker", store, experiment, workerId, epochs.ToString(), msPerEpoch.ToString(), goFile);

    public IReadOnlyList<string> Lines => lines.ToArray();

    public string Errors => string.Join("\n", errors);

    public bool HasExited => process.HasExited;

    /// <summary>Ids the worker said it had finished writing ("completed ID").</summary>
    public IReadOnlyList<long> Completed => Lines.Where(l => l.StartsWith("completed ")).Select(l => long.Parse(l["completed ".Length..])).ToList();

    public IReadOnlyList<long> Claimed => Lines.Where(l => l.StartsWith("claimed ")).Select(l => long.Parse(l["claimed ".Length..])).ToList();

    public void WaitForLine(string line, TimeSpan timeout) =>
        WaitUntil(() => Lines.Contains(line), timeout, $"worker to print '{line}'");

    public void WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (process.HasExited && !condition())
                throw new InvalidOperationException($"Worker exited ({process.ExitCode}) while waiting for {what}. stdout:\n{string.Join("\n", Lines)}\nstderr:\n{Errors}");
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"Timed out waiting for {what}. stdout:\n{string.Join("\n", Lines)}\nstderr:\n{Errors}");
            Thread.Sleep(10);
        }
    }

    /// <summary>Waits for a normal exit and checks it succeeded.</summary>
    public void WaitForSuccess(TimeSpan timeout)
    {
        if (!process.WaitForExit(timeout))
        {
            process.Kill();
            throw new TimeoutException($"Worker did not finish in {timeout}. stdout:\n{string.Join("\n", Lines)}\nstderr:\n{Errors}");
        }
        process.WaitForExit(); // drain the output
        if (process.ExitCode != 0) throw new InvalidOperationException($"Worker failed ({process.ExitCode}). stdout:\n{string.Join("\n", Lines)}\nstderr:\n{Errors}");
    }

    /// <summary>SIGKILL (Process.Kill on Linux): no finally blocks, no flushing, nothing.</summary>
    public int KillHard()
    {
        process.Kill();
        process.WaitForExit();
        return process.ExitCode;
    }

    public void Dispose()
    {
        try { if (!process.HasExited) process.Kill(); }
        catch (InvalidOperationException) { }
        process.Dispose();
    }

    private static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
        string main = Process.GetCurrentProcess().MainModule?.FileName ?? "";
        return System.IO.Path.GetFileNameWithoutExtension(main) == "dotnet" ? main : "dotnet";
    }
}

/// <summary>
/// Synthetic tuning problem: a noisy quadratic bowl over learning rate (log) × batch size × epochs, optimum 1.0 at
/// learning rate 3e-4, batch size 32, 7 epochs. Cost grows with epochs and batch size, like real training.
/// </summary>
public static class Bowl
{
    public static SearchSpace Space() => new SearchSpace()
        .AddFloat("LearningRate", 1e-6, 1e-2, log: true, defaultValue: 1e-3, lowCost: 1e-4)
        .AddChoice("BatchSize", [8, 16, 32, 64, 128], defaultValue: 64, lowCost: 8)
        .AddInt("Epochs", 1, 10, defaultValue: 3, lowCost: 1);

    /// <summary>Noise-free value, at most 1.</summary>
    public static double Value(ParameterSet p)
    {
        double lr = Math.Log10(p.GetDouble("LearningRate")) - Math.Log10(3e-4);   // range about ±2.5
        double bs = Math.Log2(p.GetInt("BatchSize")) - 5;                          // ±2
        double ep = p.GetInt("Epochs") - 7;                                        // -6..3
        return 1 - (lr * lr / 4 + bs * bs / 8 + ep * ep / 36);
    }

    public static double Cost(ParameterSet p) => p.GetInt("Epochs") * (0.5 + p.GetInt("BatchSize") / 64.0);

    /// <summary>Runs <paramref name="tuner"/> for up to <paramref name="trials"/> trials with noise of the given
    /// scale; returns the noise-free value of each trial in order and their costs.</summary>
    public static (List<double> Values, List<double> Costs) Run(ITuner tuner, int trials, int noiseSeed, double noise = 0.01)
    {
        var rng = new Random(noiseSeed);
        var values = new List<double>();
        var costs = new List<double>();
        for (int t = 0; t < trials; t++)
        {
            var p = tuner.Propose();
            if (p is null) break;
            double v = Value(p), c = Cost(p);
            values.Add(v);
            costs.Add(c);
            tuner.Report(new TrialResult(p, v + noise * CfoTuner.Gaussian(rng), c));
        }
        return (values, costs);
    }

    /// <summary>Total cost spent until a trial first reached <paramref name="level"/> (infinity if never).</summary>
    public static double CostToReach(List<double> values, List<double> costs, double level)
    {
        double total = 0;
        for (int i = 0; i < values.Count; i++)
        {
            total += costs[i];
            if (values[i] >= level) return total;
        }
        return double.PositiveInfinity;
    }

    public static double Median(IEnumerable<double> xs)
    {
        var s = xs.OrderBy(x => x).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
