using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using MlNetLlm.AutoMl;

namespace MlNetLlm.AutoMl.Tests;

/// <summary>
/// Entry point used when tests run this assembly as a separate worker process (the test host does not use it):
///   dotnet MlNetLlm.AutoMl.Tests.dll worker STORE EXPERIMENT WORKER_ID EPOCHS MS_PER_EPOCH [GO_FILE]
/// claims trials of EXPERIMENT from STORE until none is pending; each trial "trains" EPOCHS epochs, sleeping
/// MS_PER_EPOCH per epoch and reporting a metric computed from its parameters, then completes. It prints
/// "ready" once the store is open, then (if GO_FILE is given) waits for that file to exist before claiming, and prints
/// "claimed ID" / "completed ID" after each claim / completion has been written.
///   dotnet MlNetLlm.AutoMl.Tests.dll gpu-memory DIR
/// runs one trial asked to run on CUDA and prints the GPU memory NVML reports and the trial recorded.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length is 6 or 7 && args[0] == "worker")
        {
            try
            {
                RunWorker(args[1], args[2], args[3], int.Parse(args[4], CultureInfo.InvariantCulture), int.Parse(args[5], CultureInfo.InvariantCulture),
                    args.Length == 7 ? args[6] : null);
                return 0;
            }
            catch (Exception e)
            {
                Console.Error.WriteLine(e);
                return 1;
            }
        }
        if (args.Length == 2 && args[0] == "gpu-memory")
        {
            // GPU memory as NVML reports it, alone and recorded per trial by an experiment asked to run on CUDA
            // (tfidf+sdca never touches the GPU, so this needs no CUDA build of libtorch; the NVML may be a fake).
            string csv = Path.Combine(args[1], "topics.csv");
            TextData.WriteCsv(csv, TextData.Topics3(60, seed: 5));
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
        Console.Error.WriteLine("usage: worker STORE EXPERIMENT WORKER_ID EPOCHS MS_PER_EPOCH [GO_FILE] | gpu-memory DIR");
        return 2;
    }

    public static string RunSelf(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        TestProcesses.RunSelf(typeof(Program).Assembly, args, environment);

    private static void Say(string line)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }

    public static void RunWorker(string storeLocation, string experiment, string workerId, int epochs, int msPerEpoch, string? goFile)
    {
        using var store = TrialStore.Open(storeLocation);
        Say("ready");
        if (goFile is not null)
        {
            var deadline = Stopwatch.StartNew();
            while (!File.Exists(goFile))
            {
                if (deadline.Elapsed > TimeSpan.FromMinutes(2)) throw new TimeoutException($"{goFile} never appeared");
                Thread.Sleep(5);
            }
        }
        while (store.ClaimNext(experiment, workerId) is { } trial)
        {
            Say($"claimed {trial.Id}");
            var clock = Stopwatch.StartNew();
            double metric = 0;
            for (int e = 1; e <= epochs; e++)
            {
                Thread.Sleep(msPerEpoch);
                metric = SyntheticMetric(trial.Parameters, e);
                store.ReportEpoch(trial.Id, new EpochMetric(e, metric, Loss: 1 - metric, Seconds: msPerEpoch / 1000.0));
            }
            store.Complete(trial.Id, metric, new TrialResources
            {
                DurationSeconds = clock.Elapsed.TotalSeconds,
                PeakMemoryBytes = Process.GetCurrentProcess().PeakWorkingSet64,
            });
            Say($"completed {trial.Id}");
        }
        Say("done");
    }

    /// <summary>A deterministic "validation metric" of a trial's parameters after an epoch.</summary>
    public static double SyntheticMetric(ParameterSet p, int epoch) => p.GetDouble("x") * epoch / (epoch + 1.0);
}
