using Microsoft.ML;
using MlNetLlm.AutoMl.Experiments;
using MlNetLlm.Cli.Commands;

namespace MlNetLlm.Cli.Tests;

/// <summary>The experiment's refusals as the CLI words them: its flags, not the option classes' names.</summary>
public class ExperimentCliTests
{
    private static string TopicsCsv(Fixtures.TempDir dir) =>
        TextData.WriteCsv(dir.File("topics.csv"), TextData.Topics3(120, seed: 51));

    [Fact]
    public void Bf16_with_an_lstm_candidate_is_refused_in_flags()
    {
        using var dir = new Fixtures.TempDir();
        var o = new ExperimentOptions
        {
            Data = new() { Dataset = TopicsCsv(dir), LabelColumn = "label", TextColumns = ["text"] }, MaxTrials = 1,
            Candidates = ["tfidf+sdca", "lstm"], Precision = MlNetLlm.Modeling.Runtime.Precision.Bf16,
        };
        var e = Assert.Throws<ArgumentException>(() => TextExperiment.Run(new MLContext(), o, dir.File("out")));
        Assert.Contains("--precision is Bf16, but candidate lstm", CliOptionNames.ToFlags(e.Message));
        Assert.Contains("leave lstm out with --candidates", CliOptionNames.ToFlags(e.Message));
    }

    [Fact]
    public void An_unknown_tuner_is_named_with_the_choices_and_nothing_is_written()
    {
        using var dir = new Fixtures.TempDir();
        var (code, output) = TestProcesses.RunCli("classification", "--dataset", TopicsCsv(dir), "--label-col", "label", "--text-col", "text", "--tuner", "hyperband", "--output", dir.File("o"));
        Assert.NotEqual(0, code);
        Assert.Contains("--tuner 'hyperband' is not one of cfo, random, grid, tpe", output);
        Assert.False(Directory.Exists(dir.File("o")));
    }
}
