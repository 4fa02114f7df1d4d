using MlNetLlm.Tokenization;
using System.Runtime.CompilerServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Models;
using MlNetLlm.Modeling;
using MlNetLlm.Modeling.Checkpoints;
using Onnx;
using Google.Protobuf;

namespace MlNetLlm.Models.Tests;

/// <summary>ONNX import (checked against ONNX Runtime on the original export) and the bundled-model cache.</summary>
public class BundledModelTests
{
    [Theory]
    [InlineData("minilm")]
    [InlineData("arctic-xs")]
    public void Bundled_model_matches_onnx_runtime_on_the_original_export(string name)
    {
        using var model = PretrainedTransformer.Load(name);
        Assert.Equal(6, model.Config.NumLayers);
        Assert.Equal(12, model.Config.NumHeads);
        Assert.Equal(1536, model.Config.IntermediateSize);
        Assert.Equal(name == "minilm", model.Encoder.HasPooler); // only MiniLM's export kept the pooler

        using var session = new InferenceSession(BundledModelFiles.Resource(name, "model.onnx"));
        var texts = BundledModelFiles.Reviews(12).Select(t => t.Length > 600 ? t[..600] : t).Append("").Append("Short.").ToList();
        double worst = 0;
        foreach (var chunk in texts.Chunk(7)) // padded batches of texts of different lengths
        {
            var batch = model.Tokenize(chunk, maxLength: 128);
            using var ours = model.Forward(batch);
            float[] mine = ours.LastHiddenState.contiguous().data<float>().ToArray();
            int[] dims = [batch.BatchSize, batch.SequenceLength];
            var inputs = new List<NamedOnnxValue>
            {
                NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(batch.InputIds, dims)),
                NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(batch.AttentionMask, dims)),
                NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(batch.TokenTypeIds, dims)),
            };
            using var results = session.Run(inputs);
            float[] reference = results.First(r => r.Name == "last_hidden_state").AsTensor<float>().ToArray();
            Assert.Equal(reference.Length, mine.Length);
            int hidden = model.Config.HiddenSize;
            for (int i = 0; i < mine.Length; i++)
                if (batch.AttentionMask[i / hidden] == 1) // padded positions are not defined outputs
                    worst = Math.Max(worst, Math.Abs(mine[i] - reference[i]));
        }
        Assert.True(worst <= 1e-4, $"{name}: max |ours - ONNX Runtime| = {worst:E2} over real tokens");
    }

    [Fact]
    public void Import_onnx_writes_a_checkpoint_folder_with_the_inferred_config()
    {
        using var dir = new Fixtures.TempDir();
        string onnx = BundledModelFiles.WriteResource("arctic-xs", "model.onnx", dir.Path);
        string vocab = BundledModelFiles.WriteResource("arctic-xs", "vocab.txt", dir.Path);
        var result = OnnxEncoderImport.ImportToFolder(onnx, vocab, dir.File("out"));
        Assert.Equal(BundledModels.Find("arctic-xs").OnnxSha256, result.SourceSha256);
        var config = TransformerConfig.Load(Path.Combine(dir.Path, "out", "config.json"));
        Assert.Equal((30522, 384, 6, 12, 1536, 512, "gelu", 1e-12), (config.VocabSize, config.HiddenSize, config.NumLayers, config.NumHeads, config.IntermediateSize, config.MaxPositionEmbeddings, config.HiddenAct, config.LayerNormEps));
        Assert.False(result.HasPooler);
        // vocab.txt is written with LF endings whatever the source had (the bundled one is CRLF)
        Assert.DoesNotContain("\r", File.ReadAllText(Path.Combine(dir.Path, "out", "vocab.txt")));
        Assert.Equal(101, File.ReadAllLines(Path.Combine(dir.Path, "out", "vocab.txt")).ToList().IndexOf("[CLS]"));
    }

    [Fact]
    public void Import_errors_name_the_file_and_the_tensor()
    {
        using var dir = new Fixtures.TempDir();
        string vocab = BundledModelFiles.WriteResource("minilm", "vocab.txt", dir.Path);
        byte[] original = BundledModelFiles.Resource("minilm", "model.onnx");

        // not ONNX at all
        string garbage = dir.File("garbage.onnx");
        File.WriteAllBytes(garbage, Enumerable.Range(0, 4096).Select(i => (byte)(i * 7919 % 251)).ToArray());
        var e = Assert.Throws<CheckpointException>(() => OnnxEncoderImport.ImportToFolder(garbage, vocab, dir.File("o1")));
        Assert.Contains("garbage.onnx", e.Message);

        // truncated export
        string truncated = dir.File("truncated.onnx");
        File.WriteAllBytes(truncated, original[..(original.Length / 2)]);
        e = Assert.Throws<CheckpointException>(() => OnnxEncoderImport.ImportToFolder(truncated, vocab, dir.File("o2")));
        Assert.Contains("truncated.onnx", e.Message);

        // a valid ONNX graph that is no encoder export
        var notEncoder = new ModelProto { IrVersion = 7, Graph = new GraphProto { Name = "linear" } };
        notEncoder.Graph.Initializer.Add(new TensorProto { Name = "W", DataType = 1, Dims = { 2, 2 }, FloatData = { 1, 2, 3, 4 } });
        notEncoder.Graph.Node.Add(new NodeProto { OpType = "MatMul", Input = { "x", "W" }, Output = { "y" } });
        string linear = dir.File("linear.onnx");
        File.WriteAllBytes(linear, notEncoder.ToByteArray());
        e = Assert.Throws<CheckpointException>(() => OnnxEncoderImport.ImportToFolder(linear, vocab, dir.File("o3")));
        Assert.Contains("linear.onnx", e.Message);
        Assert.Equal("embeddings.word_embeddings.weight", e.Key);

        // the real export with one bias removed
        var model = ModelProto.Parser.ParseFrom(original);
        var bias = model.Graph.Initializer.Single(t => t.Name == "encoder.layer.3.output.dense.bias");
        model.Graph.Initializer.Remove(bias);
        string noBias = dir.File("no-bias.onnx");
        File.WriteAllBytes(noBias, model.ToByteArray());
        e = Assert.Throws<CheckpointException>(() => OnnxEncoderImport.ImportToFolder(noBias, vocab, dir.File("o4")));
        Assert.Contains("no-bias.onnx", e.Message);
        Assert.Equal("encoder.layer.3.output.dense.bias", e.Key);

        // a vocabulary of another model
        string shortVocab = dir.File("short-vocab.txt");
        File.WriteAllLines(shortVocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello"]);
        string good = dir.File("good.onnx");
        File.WriteAllBytes(good, original);
        e = Assert.Throws<CheckpointException>(() => OnnxEncoderImport.ImportToFolder(good, shortVocab, dir.File("o5")));
        Assert.Contains("5 tokens", e.Message);
        Assert.False(Directory.Exists(dir.File("o5")));
    }

    [Fact]
    public void Unknown_names_and_missing_folders_are_clear_errors()
    {
        var e = Assert.Throws<CheckpointException>(() => CheckpointLocator.Resolve("no-such-model"));
        Assert.Contains("minilm", e.Message);
        e = Assert.Throws<CheckpointException>(() => CheckpointLocator.Resolve("/no/such/folder"));
        Assert.Contains("/no/such/folder", e.Message);
        Assert.Contains("minilm", CheckpointLocator.BundledNames);
        Assert.Contains("arctic-xs", CheckpointLocator.BundledNames);
    }

    [Fact]
    public void Cache_is_reused_and_a_corrupted_cache_is_imported_again()
    {
        using var dir = new Fixtures.TempDir();
        var models = new BundledModels(dir.File("cache"));
        string folder = models.GetFolder("arctic-xs");
        var written = File.GetLastWriteTimeUtc(Path.Combine(folder, "model.safetensors"));
        Assert.Equal(folder, new BundledModels(dir.File("cache")).GetFolder("arctic-xs"));
        Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(folder, "model.safetensors"))); // reused, not rewritten

        // flip bytes inside the weights: the SHA-256 check catches it and the model is imported again
        using (var fs = new FileStream(Path.Combine(folder, "model.safetensors"), FileMode.Open))
        {
            fs.Seek(fs.Length / 2, SeekOrigin.Begin);
            fs.Write(new byte[64]);
        }
        string again = new BundledModels(dir.File("cache")).GetFolder("arctic-xs");
        Assert.Equal(folder, again);
        using var loaded = PretrainedTransformer.Load(again);
        var reference = PretrainedTransformer.Load(CheckpointLocator.Resolve("arctic-xs"));
        using var a = loaded.Forward(loaded.Tokenize(["the same sentence"]));
        using var b = reference.Forward(reference.Tokenize(["the same sentence"]));
        Assert.Equal(0, TorchSharp.torch.max(TorchSharp.torch.abs(a.LastHiddenState - b.LastHiddenState)).item<float>());
        reference.Dispose();
        Assert.Empty(Directory.GetDirectories(dir.File("cache"), ".import-*"));
    }

    [Fact]
    public void Two_processes_importing_at_once_share_one_intact_cache()
    {
        using var dir = new Fixtures.TempDir();
        string cache = dir.File("cache");
        var env = new Dictionary<string, string> { [BundledModels.CacheVariable] = cache };
        var runs = Enumerable.Range(0, 2).Select(_ => Task.Run(() => Program.RunSelf(["bundled-folder", "arctic-xs"], env))).ToArray();
        Task.WaitAll(runs);
        var folders = runs.Select(r => r.Result.Trim()).Distinct().ToList();
        Assert.Single(folders);
        Assert.Single(Directory.GetDirectories(cache)); // no half-written .import-* folder left behind
        using var model = PretrainedTransformer.Load(folders[0]);
        Assert.Equal(384, model.Config.HiddenSize);
    }
}

/// <summary>The bundled models as a user reaches them: the CLI's train, embed, import-onnx and the experiment's embeddings candidates.</summary>
public class BundledModelCliTests
{
    private static int Run(params string[] args)
    {
        var root = new System.CommandLine.RootCommand
        {
            new MlNetLlm.Cli.Commands.TrainCommand().Build(), new MlNetLlm.Cli.Commands.EmbedCommand().Build(),
            new MlNetLlm.Cli.Commands.ImportOnnxCommand().Build(), new MlNetLlm.Cli.Commands.ClassificationCommand().Build(),
        };
        return root.Parse(args).Invoke();
    }

    [Fact]
    public void Train_fine_tunes_the_bundled_minilm_and_the_zip_scores_the_same_in_a_fresh_process()
    {
        using var dir = new Fixtures.TempDir();
        string csv = dir.File("topics.csv");
        TextData.WriteCsv(csv, TextData.Topics3(90, seed: 7));
        string output = dir.File("out");
        Assert.Equal(0, Run("train", "--dataset", csv, "--label-col", "label", "--text-col", "text", "--encoder", "checkpoint:minilm",
            "--epochs", "2", "--batch-size", "8", "--learning-rate", "1e-4", "--max-length", "32", "--test-fraction", "0.3", "--output", output));
        using var metrics = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        double accuracy = metrics.RootElement.GetProperty("accuracy").GetDouble();
        Assert.True(accuracy >= 0.9, $"fine-tuned minilm: test accuracy {accuracy:F3} on three well-separated topics (majority class: about 0.33)");

        string zip = Path.Combine(output, "model.zip");
        var inProcess = TestProcesses.ScoredColumns(new Microsoft.ML.MLContext().Model.Load(zip, out _).Transform(
            CsvTable.Load(csv).ToDataView(new Microsoft.ML.MLContext(), textColumns: ["text", "label"])));
        var fresh = Program.ScoreInFreshProcess(zip, csv);
        Assert.Equal(inProcess["Score"].Count, fresh["Score"].Count);
        for (int r = 0; r < fresh["Score"].Count; r++)
            Assert.Equal(inProcess["Score"][r], fresh["Score"][r]);
    }

    [Fact]
    public void Embed_with_minilm_puts_paraphrases_closer_than_unrelated_sentences()
    {
        using var dir = new Fixtures.TempDir();
        string csv = dir.File("s.csv");
        File.WriteAllLines(csv, ["text", "The food was delicious and the service was friendly.", "\"Great meal, lovely staff.\"",
            "The package arrived broken and late.", "Shipping took three weeks and the box was crushed."]);
        Assert.Equal(0, Run("embed", "--model", "minilm", "--dataset", csv, "--text-col", "text", "--output", dir.File("e.csv"), "--normalize"));
        var v = File.ReadAllLines(dir.File("e.csv")).Skip(1).Select(l => l.Split(',').Skip(1).Select(x => float.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray()).ToArray();
        Assert.Equal(384, v[0].Length);
        float Cos(int a, int b) => v[a].Zip(v[b], (x, y) => x * y).Sum();
        Assert.True(Cos(0, 1) > Cos(0, 2) + 0.1 && Cos(0, 1) > Cos(0, 3) + 0.1, $"food pair {Cos(0, 1):F3}, food vs shipping {Cos(0, 2):F3} / {Cos(0, 3):F3}");
        Assert.True(Cos(2, 3) > Cos(1, 2) + 0.1 && Cos(2, 3) > Cos(1, 3) + 0.1, $"shipping pair {Cos(2, 3):F3}");
    }

    [Fact]
    public void Import_onnx_command_writes_a_folder_that_train_and_embed_accept()
    {
        using var dir = new Fixtures.TempDir();
        string onnx = BundledModelFiles.WriteResource("minilm", "model.onnx", dir.Path);
        string vocab = BundledModelFiles.WriteResource("minilm", "vocab.txt", dir.Path);
        string folder = dir.File("imported");
        Assert.Equal(0, Run("import-onnx", onnx, "--vocab", vocab, "--output", folder));
        Assert.Equal(1, Run("import-onnx", onnx, "--vocab", vocab, "--output", folder)); // refuses a non-empty folder
        Assert.Equal(1, Run("import-onnx", dir.File("missing.onnx"), "--vocab", vocab, "--output", dir.File("x")));
        string csv = dir.File("s.csv");
        File.WriteAllLines(csv, ["text", "hello world", ""]);
        Assert.Equal(0, Run("embed", "--model", folder, "--dataset", csv, "--text-col", "text", "--output", dir.File("a.csv")));
        Assert.Equal(0, Run("embed", "--model", "minilm", "--dataset", csv, "--text-col", "text", "--output", dir.File("b.csv")));
        Assert.Equal(File.ReadAllText(dir.File("b.csv")), File.ReadAllText(dir.File("a.csv"))); // the same model either way
    }

    [Fact]
    public void Experiment_embeddings_candidates_beat_the_majority_class_and_encode_each_text_once()
    {
        // Three Debian fortune categories (real, short texts), 120 train + 40 test rows each.
        using var dir = new Fixtures.TempDir();
        var t = CsvTable.Load(Path.Combine(Fixtures.Root, "data", "debian_fortunes.csv"));
        string[] text = t.Column(t.Header[t.ColumnIndex("text", "text")]), category = t.Column(t.Header[t.ColumnIndex("category", "category")]);
        string[] classes = ["computers", "men-women", "politics"];
        var picked = classes.SelectMany(c => Enumerable.Range(0, text.Length).Where(i => category[i] == c && text[i].Length < 400).Take(160)
            .Select((row, k) => (row, split: k < 120 ? "train" : "test"))).ToList();
        string csv = dir.File("fortunes.csv");
        File.WriteAllLines(csv, ["text,category,split", .. picked.Select(p => $"\"{text[p.row].Replace("\"", "\"\"")}\",{category[p.row]},{p.split}")]);

        var shared = new MlNetLlm.AutoMl.Experiments.SharedEmbeddings("minilm", maxLength: 64);
        var o = new MlNetLlm.AutoMl.Experiments.ExperimentOptions
        {
            Data = new() { Dataset = csv, LabelColumn = "category", TextColumns = ["text"], SplitColumn = "split", Seed = 3 }, MaxTrials = 5, TrainTime = TimeSpan.FromMinutes(5), Refit = true,
        };
        var result = MlNetLlm.AutoMl.Experiments.TextExperiment.Run(new Microsoft.ML.MLContext(1), o, dir.File("out"),
            [MlNetLlm.AutoMl.Experiments.EmbeddingCandidate.Sdca(shared), MlNetLlm.AutoMl.Experiments.EmbeddingCandidate.LightGbm(shared)]);

        Assert.Equal(5, result.Trials.Count(r => r.Status == MlNetLlm.AutoMl.TrialStatus.Completed));
        Assert.Equal(picked.Select(p => text[p.row]).Distinct().Count(), shared.EncodedTexts); // 5 trials + refit + test scoring, each text encoded once
        double accuracy = result.TestMetrics.Accuracy!.Value;
        Assert.True(accuracy > 1.0 / 3 + 0.25, $"minilm embeddings on 3 balanced fortune categories: test accuracy {accuracy:F3} (majority class 0.333)");
    }
}
