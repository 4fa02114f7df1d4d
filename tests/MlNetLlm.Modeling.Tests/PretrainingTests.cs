using System.Text.Json;
using MlNetLlm.Modeling;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Pretraining;
using MlNetLlm.Modeling.Runtime;

namespace MlNetLlm.Modeling.Tests;

/// <summary>Masked-language-model pretraining on tiny models: the folder it writes, resuming, and what it refuses.</summary>
[Collection(nameof(SeededRuns))]
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

    [Fact]
    public void A_cancelled_run_resumed_from_its_last_save_ends_with_the_weights_of_an_uninterrupted_run()
    {
        using var dir = new Fixtures.TempDir();
        string whole = dir.File("whole"), parts = dir.File("parts");
        MaskedLmTrainer.Train(Tiny(whole), Texts());

        using var cts = new CancellationTokenSource();
        var progress = new Modeling.Training.InlineProgress<MaskedLmProgress>(p => { if (p.Step == 2) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => MaskedLmTrainer.Train(Tiny(parts), Texts(), progress, cts.Token));
        var saved = PretrainingFolder.Read(Path.Combine(parts, PretrainingFolder.StateFile));
        Assert.Equal(2, saved.Step);
        Assert.False(saved.Complete);
        Assert.True(File.Exists(Path.Combine(parts, PretrainingFolder.OptimizerFile)));

        // Without Resume the folder is refused, naming the option that continues it.
        var refused = Assert.Throws<ArgumentException>(() => MaskedLmTrainer.Train(Tiny(parts), Texts()));
        Assert.Contains("MaskedLmOptions.Resume", refused.Message);
        // A resume with other options is refused before anything changes.
        var changed = Tiny(parts);
        changed.Resume = true;
        changed.LearningRate = 2e-3;
        Assert.Contains("MaskedLmOptions.LearningRate", Assert.Throws<ArgumentException>(() => MaskedLmTrainer.Train(changed, Texts())).Message);
        Assert.Equal(2, PretrainingFolder.Read(Path.Combine(parts, PretrainingFolder.StateFile)).Step);

        var resume = Tiny(parts);
        resume.Resume = true;
        var result = MaskedLmTrainer.Train(resume, Texts());
        Assert.Equal(4, result.Steps);
        Assert.Equal(2, result.StepsThisRun);
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, CheckpointFiles.SingleFile)), File.ReadAllBytes(Path.Combine(parts, CheckpointFiles.SingleFile)));
        Assert.Equal([2, 4], result.Log.Select(l => l.Step));
    }

    [Fact]
    public void Bad_input_is_refused_naming_the_option_before_the_output_folder_is_created()
    {
        using var dir = new Fixtures.TempDir();
        string output = dir.File("mlm");
        void Refused(string expected, MaskedLmOptions options, IReadOnlyList<string>? texts = null)
        {
            var e = Assert.ThrowsAny<Exception>(() => MaskedLmTrainer.Train(options, texts ?? Texts()));
            Assert.Contains(expected, e.Message);
            Assert.False(Directory.Exists(output), $"'{expected}': the output folder was created");
        }
        Refused("no texts", Tiny(output), []);
        Refused("None of the", Tiny(output), ["", "   "]);
        var o = Tiny(output); o.Steps = 0; Refused("MaskedLmOptions.Steps", o);
        o = Tiny(output); o.Epochs = 1; Refused("MaskedLmOptions.Steps or MaskedLmOptions.Epochs", o);
        o = Tiny(output); o.OutputFolder = ""; Refused("MaskedLmOptions.OutputFolder", o);
        o = Tiny(output); o.HiddenSize = 64; Refused("MaskedLmOptions.HiddenSize", o); // shapes only a model from scratch
        o = Tiny(output, "tiny-roberta"); o.WholeWordMasking = true; Refused("MaskedLmOptions.WholeWordMasking", o);
        o = Tiny(output); o.CheckpointPath = dir.File("no-such-model"); Refused("does not exist", o);

        // A folder with something in it is not overwritten.
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "keep.txt"), "mine");
        var e = Assert.Throws<ArgumentException>(() => MaskedLmTrainer.Train(Tiny(output), Texts()));
        Assert.Contains("MaskedLmOptions.OutputFolder", e.Message);
        Assert.Equal(["keep.txt"], Directory.GetFileSystemEntries(output).Select(Path.GetFileName));
    }

    [Fact]
    public void From_scratch_builds_a_word_vocabulary_and_a_small_bert_that_learns_from_context()
    {
        // 8 topics of 5 words; each text draws its words from one topic. Word frequencies alone predict a masked
        // word 1 time in 40 (loss ln 40 = 3.7); the other words of the text narrow it to 5 (ln 5 = 1.6).
        // Letters only: the word vocabulary splits "w12" into "w" and "12", and WordPiece would then see [UNK].
        static string Word(int k) => $"w{(char)('a' + k / 10)}{(char)('a' + k % 10)}";
        var rng = new Random(3);
        var texts = Enumerable.Range(0, 400).Select(_ =>
        {
            int topic = rng.Next(8);
            return string.Join(' ', Enumerable.Range(0, rng.Next(8, 20)).Select(_ => Word(topic * 5 + rng.Next(5))));
        }).ToList();
        using var dir = new Fixtures.TempDir();
        string output = dir.File("scratch");
        var options = new MaskedLmOptions
        {
            CheckpointPath = null, OutputFolder = output, Steps = 150, BatchSize = 16, MaxLength = 32, Layers = 1, HiddenSize = 32, Heads = 2, Dropout = 0,
            LearningRate = 5e-3, WarmupRatio = 0.1, Precision = Precision.Fp32, SaveEverySteps = 50, MinWordCount = 1,
        };
        var result = MaskedLmTrainer.Train(options, texts);
        Assert.Equal(150, result.Steps);
        // The last 50 steps' mean: well below what word frequencies give (3.7 nats, 2.5%); it was 2.59 and 18% when written.
        Assert.True(result.Log[^1].Loss < 3.3 && result.Log[^1].MaskedAccuracy > 0.08, string.Join("; ", result.Log.Select(l => $"{l.Step}: loss {l.Loss:F2}, accuracy {l.MaskedAccuracy:P0}")));
        using var loaded = PretrainedTransformer.Load(output);
        Assert.Equal(1, loaded.Config.NumLayers);
        Assert.Equal(32, loaded.Config.HiddenSize);
        Assert.Equal(45, loaded.Config.VocabSize); // 40 words and the 5 special tokens
        Assert.Contains("cls.predictions.bias", loaded.LoadReport.IgnoredKeys);
    }
}

/// <summary>
/// Runs alone (no other test class in parallel): other tests seed or draw from libtorch's global random generator and
/// change its thread count (RuntimeTests), either of which changes a seeded run's weights in the last bits.
/// </summary>
[CollectionDefinition(nameof(SeededRuns), DisableParallelization = true)]
public sealed class SeededRuns;
