using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using MlNetLlm.AutoMl;
using MlNetLlm.AutoMl.Experiments;

namespace MlNetLlm.Cli.Tests;

/// <summary>Several <c>mlnet-llm classification --join</c> processes working on one experiment in one store.</summary>
public class ExperimentWorkerTests
{
    private static string[] Arguments(string csv, string store, string experiment, string output, int maxTrials) =>
    [
        "classification", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--candidates", "tfidf+sdca", "tfidf+lbfgs",
        "--max-trials", $"{maxTrials}", "--train-time", "240", "--store", store, "--experiment", experiment, "--join", "--output", output,
    ];

    [PostgresFact]
    public void Two_cli_workers_share_one_postgres_experiment_and_never_run_a_trial_twice()
    {
        using var dir = new Fixtures.TempDir();
        string csv = dir.File("topics.csv");
        TextData.WriteCsv(csv, TextData.Topics3(150, seed: 61));
        string store = PostgresFactAttribute.ConnectionString!, experiment = "cli-workers-" + Guid.NewGuid().ToString("N")[..8];
        string output = Path.Combine(dir.Path, "shared"); // one output folder: the workers share trial models through it

        // Same command, same seed, started together: without atomic claims and de-duplicated proposals they would
        // run the same points.
        var workers = new[] { TestProcesses.StartCli(Arguments(csv, store, experiment, output, 6)), TestProcesses.StartCli(Arguments(csv, store, experiment, output, 6)) };
        var results = workers.Select(TestProcesses.FinishCli).ToList();
        foreach (var (code, text) in results) Assert.True(code == 0, text);

        using (var s = TrialStore.Open(store))
        {
            var trials = s.ListTrials(experiment);
            Assert.Equal(12, trials.Count);
            Assert.All(trials, t =>
            {
                Assert.Equal(TrialStatus.Completed, t.Status);
                Assert.Equal(1, t.Attempts); // claimed and run once
            });
            Assert.Equal(12, trials.Select(t => t.Parameters.Key).Distinct().Count());
            var perWorker = trials.GroupBy(t => t.WorkerId).Select(g => g.Count()).Order().ToList();
            Assert.Equal([6, 6], perWorker);
        }

        // A worker with no trials left to run collects the experiment: the best of both workers' trials.
        var (collectCode, collectText) = TestProcesses.FinishCli(TestProcesses.StartCli(Arguments(csv, store, experiment, output, 0)));
        Assert.True(collectCode == 0, collectText);
        using var st = TrialStore.Open(store);
        var best = st.ListTrials(experiment).OrderByDescending(t => t.Metric).ThenBy(t => t.Id).First();
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        Assert.Equal(best.Id, metrics.RootElement.GetProperty("trialId").GetInt64());
        Assert.Equal(best.WorkerId, metrics.RootElement.GetProperty("worker").GetString());
        using (var fresh = new Fixtures.TempDir())
            Assert.True(TextData.FreshTopicAccuracy(new MLContext().Model.Load(Path.Combine(output, "model.zip"), out _), fresh) > 0.8);
        Assert.Equal(13, File.ReadAllLines(Path.Combine(output, "trials.csv")).Length);
    }
}
