using System.CommandLine;
using System.Globalization;
using MlNetLlm.Cli.Commands;

namespace MlNetLlm.Cli.Tests;

/// <summary>export-onnx, and predict / embed on what it wrote, run in-process as a user would call them.</summary>
public class OnnxCliTests
{
    private static int Run(params string[] args)
    {
        var root = new RootCommand { new TrainCommand().Build(), new PredictCommand().Build(), new EmbedCommand().Build(), new ExportOnnxCommand().Build() };
        return root.Parse(args).Invoke();
    }

    private static string PairsCsv(Fixtures.TempDir dir)
    {
        string path = dir.File("pairs.csv");
        File.WriteAllLines(path, ["first,second,same", .. TextData.SameTopicPairs(60, seed: 4).Select(r => $"\"{r.Text}\",\"{r.Text2}\",{(r.Label ? "same" : "different")}")]);
        return path;
    }

    private static (string[] Labels, double[] Scores) ReadPredictions(string path)
    {
        var rows = File.ReadAllLines(path).Skip(1).Select(l => l.Split(',')).ToList();
        return ([.. rows.Select(r => r[1])], [.. rows.Select(r => double.Parse(r[2], CultureInfo.InvariantCulture))]);
    }

    [Fact]
    public void Trained_pair_classifier_exports_and_predicts_the_same_labels_from_the_folder()
    {
        using var dir = new Fixtures.TempDir();
        string csv = PairsCsv(dir), trained = dir.File("trained");
        Assert.Equal(0, Run("train", "--dataset", csv, "--label-col", "same", "--text-col", "first", "--text-col", "second",
            "--encoder", "checkpoint:" + Fixtures.Checkpoint("tiny-bert"), "--epochs", "1", "--max-length", "32", "--precision", "fp32", "--output", trained));
        string zip = Path.Combine(trained, "model.zip");
        Assert.Equal(0, Run("export-onnx", "--model", zip, "--output", dir.File("fp32")));
        Assert.Equal(0, Run("export-onnx", "--model", zip, "--output", dir.File("int8"), "--quantize", "int8"));
        Assert.Contains("\"labelNames\": [\n    \"different\",\n    \"same\"", File.ReadAllText(dir.File("fp32/mlnetllm-onnx.json")).ReplaceLineEndings("\n"));

        Assert.Equal(0, Run("predict", "--model", zip, "--dataset", csv, "--precision", "fp32", "--output", dir.File("torch.csv")));
        Assert.Equal(0, Run("predict", "--model", dir.File("fp32"), "--dataset", csv, "--output", dir.File("onnx.csv")));
        Assert.Equal(0, Run("predict", "--model", dir.File("int8"), "--dataset", csv, "--output", dir.File("int8.csv")));
        var (torchLabels, torchScores) = ReadPredictions(dir.File("torch.csv"));
        var (onnxLabels, onnxScores) = ReadPredictions(dir.File("onnx.csv"));
        Assert.Equal(60, torchLabels.Length);
        Assert.Equal(torchLabels, onnxLabels);
        Assert.All(torchLabels, l => Assert.Contains(l, new[] { "same", "different" }));
        Assert.True(torchScores.Zip(onnxScores, (a, b) => Math.Abs(a - b)).Max() <= 1e-4);
        Assert.Equal(60, ReadPredictions(dir.File("int8.csv")).Labels.Length);
        var (code, output) = TestProcesses.RunCli("embed", "--model", dir.File("fp32"), "--dataset", csv, "--text-col", "first", "--output", dir.File("e.csv"));
        Assert.Equal(1, code);
        Assert.Contains("predict --model", output);
    }

    [Fact]
    public void Exported_checkpoint_embeds_like_the_checkpoint()
    {
        using var dir = new Fixtures.TempDir();
        string csv = PairsCsv(dir);
        string checkpoint = Fixtures.Checkpoint("tiny-distilbert");
        Assert.Equal(0, Run("export-onnx", "--model", checkpoint, "--output", dir.File("export"), "--pooling", "Max", "--max-length", "40"));
        Assert.Equal(0, Run("embed", "--model", checkpoint, "--dataset", csv, "--text-col", "first", "--pooling", "Max", "--max-length", "40", "--normalize", "--precision", "fp32", "--output", dir.File("torch.csv")));
        Assert.Equal(0, Run("embed", "--model", dir.File("export"), "--dataset", csv, "--text-col", "first", "--normalize", "--output", dir.File("onnx.csv")));
        var torch = File.ReadAllLines(dir.File("torch.csv")).Skip(1).Select(l => l.Split(',').Skip(1).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToList();
        var onnx = File.ReadAllLines(dir.File("onnx.csv")).Skip(1).Select(l => l.Split(',').Skip(1).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToList();
        Assert.Equal(60, onnx.Count);
        Assert.True(torch.Zip(onnx, (a, b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max()).Max() <= 1e-4);
    }

    [Fact]
    public void Export_refusals_name_the_flag_and_change_nothing()
    {
        using var dir = new Fixtures.TempDir();
        string csv = PairsCsv(dir), trained = dir.File("trained");
        Assert.Equal(0, Run("train", "--dataset", csv, "--label-col", "same", "--text-col", "first", "--encoder", "lstm", "--epochs", "1", "--output", trained));
        string zip = Path.Combine(trained, "model.zip");
        var before = Directory.GetFileSystemEntries(dir.Path).Order().ToList();

        var (code, output) = TestProcesses.RunCli("export-onnx", "--model", zip, "--output", dir.File("lstm"));
        Assert.Equal(1, code);
        Assert.Contains("LSTM", output);
        (code, output) = TestProcesses.RunCli("export-onnx", "--model", zip, "--output", dir.File("x"), "--pooling", "Cls");
        Assert.Equal(1, code);
        Assert.Contains("--pooling", output);
        (code, output) = TestProcesses.RunCli("export-onnx", "--model", Fixtures.Checkpoint("tiny-bert"), "--output", trained);
        Assert.Equal(1, code);
        Assert.Contains("--output", output);
        (code, output) = TestProcesses.RunCli("export-onnx", "--model", Fixtures.Checkpoint("tiny-bert"), "--output", dir.File("q"), "--quantize", "int4");
        Assert.NotEqual(0, code);
        Assert.Contains("int4", output);
        Assert.Equal(before, Directory.GetFileSystemEntries(dir.Path).Order().ToList());

        Assert.Equal(0, Run("export-onnx", "--model", Fixtures.Checkpoint("tiny-bert"), "--output", dir.File("embedder")));
        (code, output) = TestProcesses.RunCli("predict", "--model", dir.File("embedder"), "--dataset", csv, "--output", dir.File("p.csv"));
        Assert.Equal(1, code);
        Assert.Contains("embed --model", output);
        (code, output) = TestProcesses.RunCli("embed", "--model", dir.File("embedder"), "--dataset", csv, "--text-col", "first", "--pooling", "Cls", "--output", dir.File("e.csv"));
        Assert.Equal(1, code);
        Assert.Contains("--pooling", output);
        (code, output) = TestProcesses.RunCli("embed", "--model", dir.File("embedder"), "--dataset", csv, "--text-col", "first", "--precision", "bf16", "--output", dir.File("e.csv"));
        Assert.Equal(1, code);
        Assert.Contains("--precision", output);
        Assert.False(File.Exists(dir.File("p.csv")) || File.Exists(dir.File("e.csv")));
    }
}
