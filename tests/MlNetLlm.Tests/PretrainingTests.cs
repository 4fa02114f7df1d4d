using System.Text.Json;
using MlNetLlm.Modeling;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Pretraining;
using MlNetLlm.Modeling.Runtime;

namespace MlNetLlm.Tests;

/// <summary>Masked-language-model pretraining on tiny models: the folder it writes, resuming, and what it refuses.</summary>
public class PretrainingTests
{
    internal static List<string> Texts(int n = 60) => TextData.Topics3(n, seed: 5).Select(r => r.Text).ToList();

    private static MaskedLmOptions Tiny(string output, string? checkpoint = "tiny-bert") => new()
    {
        CheckpointPath = checkpoint is null ? null : Fixtures.Checkpoint(checkpoint), OutputFolder = output,
        Steps = 4, BatchSize = 8, MaxLength = 32, LearningRate = 1e-3, Precision = Precision.Fp32, SaveEverySteps = 2,
    };

    private static Dictionary<string, long[]> Shapes(string folder)
    {
        using var file = SafeTensorsFile.Open(Path.Combine(folder, CheckpointFiles.SingleFile));
        return file.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.Shape.ToArray());
    }

    [Fact]
    public void Continued_pretraining_writes_a_bert_for_masked_lm_folder_that_loads_as_an_encoder()
    {
        using var dir = new Fixtures.TempDir();
        string output = dir.File("mlm");
        var reports = new List<MaskedLmProgress>();
        var result = MaskedLmTrainer.Train(Tiny(output), Texts(), new Modeling.Training.InlineProgress<MaskedLmProgress>(reports.Add));

        Assert.Equal(4, result.Steps);
        Assert.Equal([1, 2, 3, 4], reports.Select(r => r.Step));
        Assert.Equal([2, 4], result.Log.Select(l => l.Step));
        Assert.All(result.Log, l => Assert.True(double.IsFinite(l.Loss) && l.Loss > 0));

        var shapes = Shapes(output);
        var original = Shapes(Fixtures.Checkpoint("tiny-bert"));
        // The encoder under BertForMaskedLM's prefix, the head under cls.predictions, no tied decoder.
        foreach (var (key, shape) in original) Assert.Equal(shape, shapes["bert." + key]);
        Assert.Equal([116], shapes["cls.predictions.bias"]);
        Assert.Equal([32, 32], shapes["cls.predictions.transform.dense.weight"]);
        Assert.Equal([32], shapes["cls.predictions.transform.LayerNorm.weight"]);
        Assert.DoesNotContain("cls.predictions.decoder.weight", shapes.Keys);
        Assert.Equal(original.Count + 5, shapes.Count);
        using (var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(output, "config.json"))))
            Assert.Equal("BertForMaskedLM", config.RootElement.GetProperty("architectures")[0].GetString());
        Assert.True(File.Exists(Path.Combine(output, "vocab.txt")));
        Assert.False(File.Exists(Path.Combine(output, PretrainingFolder.OptimizerFile))); // complete: nothing to resume
        Assert.True(PretrainingFolder.Read(Path.Combine(output, PretrainingFolder.StateFile)).Complete);

        using var loaded = PretrainedTransformer.Load(output);
        Assert.Equal("bert", loaded.LoadReport.StrippedPrefix);
        Assert.Contains("cls.predictions.bias", loaded.LoadReport.IgnoredKeys);
        using var before = PretrainedTransformer.Load(Fixtures.Checkpoint("tiny-bert"));
        var batch = loaded.Tokenize(["the match went to extra time"]);
        using var a = loaded.Forward(batch);
        using var b = before.Forward(batch);
        Assert.True((a.LastHiddenState - b.LastHiddenState).abs().max().item<float>() > 1e-4, "pretraining changed nothing");
    }
}
