using System.CommandLine;
using System.Text.Json;
using MlNetLlm.Cli.Commands;
using MlNetLlm.Modeling.Pretraining;

namespace MlNetLlm.Cli.Tests;

/// <summary><c>mlnet-llm pretrain</c>, then <c>train --encoder checkpoint:DIR</c> and <c>classification --checkpoint DIR</c> on what it wrote.</summary>
[Collection("console")]
public class PretrainCliTests
{
    private static (int Code, string Output) Run(params string[] args)
    {
        var root = new RootCommand { new PretrainCommand().Build(), new TrainCommand().Build(), new ClassificationCommand().Build() };
        var stdout = new StringWriter();
        var previous = Console.Out;
        Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(stdout) });
        try
        {
            return (root.Parse(args).Invoke(), stdout.ToString());
        }
        finally
        {
            Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(previous) });
        }
    }

    private static string TopicsCsv(Fixtures.TempDir dir) =>
        TextData.WriteCsv(dir.File("topics.csv"), TextData.Topics3(60, seed: 43));

    [Fact]
    public void Pretrain_writes_a_folder_that_train_uses_as_its_encoder()
    {
        using var dir = new Fixtures.TempDir();
        string csv = TopicsCsv(dir), pretrained = dir.File("pretrained");
        var (code, output) = Run("pretrain", "--model", Fixtures.Checkpoint("tiny-bert"), "--dataset", csv, "--text-col", "text", "--steps", "4",
            "--batch-size", "8", "--max-length", "32", "--save-every", "2", "--precision", "fp32", "--output", pretrained);
        Assert.True(code == 0, output);
        Assert.Contains("step 2/4", output);
        Assert.Contains("step 4/4", output);
        Assert.True(PretrainingFolder.Read(Path.Combine(pretrained, PretrainingFolder.StateFile)).Complete);

        string trained = dir.File("trained");
        (code, output) = Run("train", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--encoder", $"checkpoint:{pretrained}",
            "--epochs", "1", "--max-length", "32", "--precision", "fp32", "--output", trained);
        Assert.True(code == 0, output);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(trained, "metrics.json")));
        Assert.Equal(48, metrics.RootElement.GetProperty("rows").GetInt32());
        Assert.True(File.Exists(Path.Combine(trained, "model.zip")));

        // The experiment's fine-tuning candidate takes the folder too (classification --checkpoint DIR).
        string experiment = dir.File("experiment");
        (code, output) = Run("classification", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--checkpoint", pretrained,
            "--candidates", "fine-tune", "--max-trials", "1", "--train-time", "300", "--precision", "fp32", "--output", experiment);
        Assert.True(code == 0, output);
        var trials = File.ReadAllLines(Path.Combine(experiment, "trials.csv"));
        Assert.Equal(2, trials.Length);
        Assert.Contains("\"fine-tune\",completed", trials[1]);

        // The finished run is not overwritten, and --resume says there is nothing left to do.
        (code, output) = Run("pretrain", "--model", Fixtures.Checkpoint("tiny-bert"), "--dataset", csv, "--text-col", "text", "--steps", "4", "--output", pretrained);
        Assert.Equal(1, code);
        Assert.Contains("--resume", output);
        Assert.DoesNotContain("MaskedLmOptions", output);
    }

    [Fact]
    public void Bad_options_exit_1_naming_the_flag_and_write_nothing()
    {
        using var dir = new Fixtures.TempDir();
        string csv = TopicsCsv(dir), output = dir.File("out");
        string tiny = Fixtures.Checkpoint("tiny-bert");
        foreach (var (args, expected) in new (string[], string)[]
        {
            (["--model", tiny, "--text-col", "text", "--steps", "0"], "--steps must be at least 1"),
            (["--model", tiny, "--text-col", "text", "--steps", "2", "--epochs", "1"], "Give --steps or --epochs, not both"),
            (["--model", tiny, "--text-col", "body", "--steps", "2"], "--text-col 'body' is not a column"),
            (["--model", tiny, "--text-col", "text", "--steps", "2", "--hidden-size", "64"], "--hidden-size"),
            (["--model", Fixtures.Checkpoint("tiny-roberta"), "--text-col", "text", "--steps", "2", "--whole-word-masking"], "--whole-word-masking needs a WordPiece tokenizer"),
            (["--model", "none", "--text-col", "text", "--steps", "2", "--hidden-size", "30", "--heads", "4"], "--hidden-size 30 must be divisible by --heads 4"),
            (["--model", tiny, "--text-col", "text", "--steps", "2", "--resume"], "--resume is set, but --output"),
        })
        {
            var (code, text) = Run(["pretrain", "--dataset", csv, "--output", output, .. args]);
            Assert.True(code == 1, $"{string.Join(' ', args)}: exit {code}\n{text}");
            Assert.Contains(expected, text.ReplaceLineEndings(" "));
            Assert.DoesNotContain("   at ", text);
            Assert.False(Directory.Exists(output), $"{string.Join(' ', args)} created --output");
        }
    }
}
