using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.Estimators;
using MlNetLlm.Modeling;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;
using MlNetLlm.Transforms.Embeddings;
using static TorchSharp.torch;

namespace MlNetLlm.Estimators.Tests;

/// <summary>
/// Mixed precision on tiny models: bf16 products against fp32 within stated tolerances, fp32 master weights and saved
/// weights, the precision saved in the zip (old zips read as fp32), and the choice of Auto. The real-data guard (MiniLM
/// on Amazon reviews, 1,000 real texts) is a bench row: bench/README.md.
/// </summary>
public class PrecisionTests
{
    private static readonly string[] Texts =
    [
        "hello world", "the quick brown fox jumps over the lazy dog again and again", "", "tokenizer", "a",
        "Héllo World! The dog runs.", "a much longer text with many words in it, so that the batch pads the short ones",
    ];

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return dot / Math.Sqrt(na * nb);
    }

    // Tolerance (tiny random encoders, 2 layers, hidden 32, padded batches): bf16 keeps 8 significant bits, so each product
    // is off by ~0.4% relative; after two layers the token states differ by at most 0.1 (values of order 1, after
    // layer norm; 0.025-0.037 seen on 2026-12-06) and the mean-pooled vectors keep cosine ≥ 0.999 to fp32.
    [Theory]
    [InlineData("tiny-bert")]
    [InlineData("tiny-roberta")]
    [InlineData("tiny-distilbert")]
    public void Bf16_encoder_outputs_are_fp32_tensors_within_tolerance_of_fp32(string checkpoint)
    {
        using var model = PretrainedTransformer.Load(Fixtures.Checkpoint(checkpoint));
        var batch = model.Tokenize(Texts, maxLength: 64);
        using var fp32 = model.Forward(batch, Precision.Fp32);
        using var bf16 = model.Forward(batch, Precision.Bf16);
        Assert.Equal(ScalarType.Float32, bf16.LastHiddenState.dtype);
        if (bf16.PoolerOutput is { } pooler) Assert.Equal(ScalarType.Float32, pooler.dtype);
        using var mask = tensor(batch.AttentionMask, [batch.BatchSize, batch.SequenceLength]).to_type(ScalarType.Float32).unsqueeze(-1);
        double maxDiff = ((bf16.LastHiddenState - fp32.LastHiddenState).abs() * mask).max().item<float>();
        Assert.True(maxDiff is > 0 and < 0.1, $"{checkpoint}: max |bf16 - fp32| over real tokens {maxDiff}"); // > 0: bf16 really ran
        var pooledFp32 = PooledTextEncoder.Pool(fp32.LastHiddenState, tensor(batch.AttentionMask, [batch.BatchSize, batch.SequenceLength]), Pooling.Mean);
        var pooledBf16 = PooledTextEncoder.Pool(bf16.LastHiddenState, tensor(batch.AttentionMask, [batch.BatchSize, batch.SequenceLength]), Pooling.Mean);
        for (int i = 0; i < Texts.Length; i++)
        {
            double cos = Cosine(pooledBf16[i].data<float>().ToArray(), pooledFp32[i].data<float>().ToArray());
            Assert.True(cos >= 0.999, $"{checkpoint} text {i}: cosine {cos}");
        }
    }

    [Fact]
    public void Outside_a_bf16_scope_the_encoder_is_exactly_the_fp32_one()
    {
        using var model = PretrainedTransformer.Load(Fixtures.Checkpoint("tiny-bert"));
        var batch = model.Tokenize(Texts, maxLength: 64);
        using var before = model.Forward(batch, Precision.Fp32);
        using (model.Forward(batch, Precision.Bf16)) { } // a bf16 pass in between leaves nothing behind
        using var after = model.Forward(batch);
        Assert.Equal(before.LastHiddenState.data<float>().ToArray(), after.LastHiddenState.data<float>().ToArray());
        Assert.Null(Autocast.ComputeType);
    }

    [Fact]
    public void Embeddings_in_bf16_keep_cosine_to_fp32_and_normalisation_stays_exact()
    {
        TextEmbeddingTransformer Embedder(Precision p) => TextEmbeddingEstimator.Create(new TextEmbeddingOptions
        {
            CheckpointPath = Fixtures.Checkpoint("tiny-bert"), Normalize = true, BatchSize = 3, MaxLength = 64, Precision = p,
        });
        using var fp32 = Embedder(Precision.Fp32);
        using var bf16 = Embedder(Precision.Bf16);
        Assert.Equal(Precision.Bf16, bf16.Precision.Value);
        var a = fp32.Embed(Texts);
        var b = bf16.Embed(Texts);
        for (int i = 0; i < Texts.Length; i++)
        {
            Assert.True(Cosine(a[i], b[i]) >= 0.999, $"text {i}: cosine {Cosine(a[i], b[i])}");
            Assert.Equal(1.0, Math.Sqrt(b[i].Sum(x => (double)x * x)), 5); // normalised in fp32
        }
        Assert.NotEqual(a[0], b[0]);
    }

    [Fact]
    public void Bf16_embeddings_from_several_threads_equal_those_of_one()
    {
        // ML.NET cursors score from several threads at once; each has its own bf16 scope and weight copies.
        using var e = TextEmbeddingEstimator.Create(new TextEmbeddingOptions { CheckpointPath = Fixtures.Checkpoint("tiny-roberta"), Precision = Precision.Bf16, BatchSize = 4 });
        var texts = Enumerable.Range(0, 40).Select(i => string.Join(' ', Enumerable.Repeat("word" + i, 1 + i % 9))).ToList();
        var one = e.Embed(texts);
        var results = new float[4][][];
        Parallel.For(0, 4, k => { for (int rep = 0; rep < 3; rep++) results[k] = e.Embed(texts); });
        foreach (var r in results)
            for (int i = 0; i < texts.Count; i++) Assert.Equal(one[i], r[i]);
    }

    [Fact]
    public void Bf16_training_keeps_fp32_master_weights_saves_fp32_and_records_the_precision()
    {
        using var dir = new Fixtures.TempDir();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(TextData.Topics3(48, seed: 21));
        var o = new TextTrainerOptions
        {
            Encoder = TextEncoderKind.Checkpoint, CheckpointPath = Fixtures.Checkpoint("tiny-bert"), Epochs = 1, BatchSize = 16, MaxLength = 32, Precision = Precision.Bf16,
        };
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.TextClassifier(o));
        var model = pipeline.Fit(data);
        var trained = model.LastTransformer;
        Assert.Equal(Precision.Bf16, trained.Spec.Precision);
        Assert.All(trained.Model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));

        string zip = dir.File("model.zip");
        ml.Model.Save(model, data.Schema, zip);
        using (var archive = ZipFile.OpenRead(zip))
        {
            using var spec = JsonDocument.Parse(archive.Entries.Single(e => e.FullName.EndsWith("spec.json", StringComparison.Ordinal)).Open());
            Assert.Equal("Bf16", spec.RootElement.GetProperty("Precision").GetString());
            var weights = archive.Entries.Single(e => e.FullName.EndsWith("weights.safetensors", StringComparison.Ordinal));
            using var stream = weights.Open();
            var lengthBytes = new byte[8];
            stream.ReadExactly(lengthBytes);
            var header = new byte[BitConverter.ToInt64(lengthBytes)];
            stream.ReadExactly(header);
            using var json = JsonDocument.Parse(header);
            var dtypes = json.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").Select(p => p.Value.GetProperty("dtype").GetString()).Distinct().ToList();
            Assert.Equal(["F32"], dtypes);
        }
        // Loaded, it scores in bf16 where this CPU computes it natively (fp32 elsewhere), and like the trained model.
        var loaded = (TransformerChain<ITransformer>)new MLContext().Model.Load(zip, out _);
        var again = loaded.OfType<TextPredictionTransformer>().Single();
        Assert.Equal(PrecisionSupport.CpuNativeBf16Flag is null ? Precision.Fp32 : Precision.Bf16, again.Precision.Value);
        if (again.Precision.Value == Precision.Bf16)
            Assert.Equal(TestProcesses.ScoredColumns(model.Transform(data))["Score"], TestProcesses.ScoredColumns(loaded.Transform(data))["Score"]);
    }

    [Fact]
    public void A_zip_saved_before_the_precision_field_loads_as_fp32()
    {
        using var dir = new Fixtures.TempDir();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(TextData.Topics3(32, seed: 22));
        var o = new TextTrainerOptions { Encoder = TextEncoderKind.Checkpoint, CheckpointPath = Fixtures.Checkpoint("tiny-bert"), Epochs = 1, MaxLength = 32 };
        var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.TextClassifier(o)).Fit(data);
        string zip = dir.File("model.zip");
        ml.Model.Save(model, data.Schema, zip);
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Update))
        {
            var entry = archive.Entries.Single(e => e.FullName.EndsWith("spec.json", StringComparison.Ordinal));
            System.Text.Json.Nodes.JsonObject spec;
            using (var stream = entry.Open())
                spec = System.Text.Json.Nodes.JsonNode.Parse(stream)!.AsObject();
            Assert.True(spec.Remove("Precision"));
            string name = entry.FullName;
            var bytes = System.Text.Encoding.UTF8.GetBytes(spec.ToJsonString());
            entry.Delete();
            using (var s = archive.CreateEntry(name).Open()) s.Write(bytes);
            // As that version wrote it: with the entry's checksum.
            archive.GetEntry(name + ".sha256")?.Delete();
            using (var s = archive.CreateEntry(name + ".sha256").Open()) s.Write(System.Text.Encoding.ASCII.GetBytes(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))));
        }
        var loaded = new MLContext().Model.Load(zip, out _);
        var t = ((TransformerChain<ITransformer>)loaded).OfType<TextPredictionTransformer>().Single();
        Assert.Equal(Precision.Fp32, t.Spec.Precision);
        Assert.Equal(Precision.Fp32, t.Precision.Value);
        t.UsePrecision(Precision.Bf16);
        Assert.Equal(Precision.Bf16, t.Precision.Value);
    }

    [Fact]
    public void The_lstm_runs_in_fp32_auto_says_why_and_bf16_is_refused_naming_the_option()
    {
        var auto = new TextTrainerOptions { Encoder = TextEncoderKind.Lstm }.ResolvePrecision();
        Assert.Equal(Precision.Fp32, auto.Value);
        Assert.Contains("LSTM", auto.Reason);
        var ex = Assert.Throws<ArgumentException>(() => new MLContext().MulticlassClassification.Trainers.TextClassifier(new TextTrainerOptions { Encoder = TextEncoderKind.Lstm, Precision = Precision.Bf16 }));
        Assert.Contains("TextTrainerOptions.Precision", ex.Message);
        Assert.Contains("LSTM", ex.Message);
    }

    [Fact]
    public void Auto_is_decided_by_the_device()
    {
        const string option = "TextTrainerOptions.Precision";
        // CPU: the flag decides; an explicit Bf16 on a CPU without it still runs (emulated) and says so.
        Assert.Equal(Precision.Bf16, PrecisionSupport.Decide(Precision.Auto, option, null, null, "avx512_bf16").Value);
        Assert.Equal(Precision.Fp32, PrecisionSupport.Decide(Precision.Auto, option, null, null, null).Value);
        var emulated = PrecisionSupport.Decide(Precision.Bf16, option, null, null, null);
        Assert.Equal(Precision.Bf16, emulated.Value);
        Assert.True(emulated.Emulated);
        Assert.Contains("slower", emulated.Reason);
        Assert.Equal(Precision.Fp32, PrecisionSupport.Decide(Precision.Fp32, option, null, null, "amx_bf16").Value);
        // CUDA: every GPU's compute capability must be 8.0 or more; unreadable capability is not taken as native.
        Assert.Equal(Precision.Bf16, PrecisionSupport.Decide(Precision.Auto, option, null, CudaCapability.Describe([(8, 0), (9, 0)], null), null).Value);
        Assert.Equal(Precision.Fp32, PrecisionSupport.Decide(Precision.Auto, option, null, CudaCapability.Describe([(9, 0), (7, 5)], null), "avx512_bf16").Value);
        var unknown = PrecisionSupport.Decide(Precision.Auto, option, null, CudaCapability.Describe(null, "libnvidia-ml.so.1 not found"), "avx512_bf16");
        Assert.Equal(Precision.Fp32, unknown.Value);
        Assert.Contains("cannot be read", unknown.Reason);
        // What this machine has.
        Assert.Equal(File.Exists("/proc/cpuinfo") && File.ReadAllText("/proc/cpuinfo").Contains("avx512_bf16") ? "avx512_bf16" : null,
            PrecisionSupport.CpuNativeBf16Flag == "amx_bf16" ? "avx512_bf16" : PrecisionSupport.CpuNativeBf16Flag);
        Assert.Equal("amx_bf16", PrecisionSupport.CpuBf16Flag(["avx512f", "avx512_bf16", "amx_bf16"]));
        Assert.Null(PrecisionSupport.CpuBf16Flag(["avx512f", "avx512_vnni"]));
        Assert.Throws<ArgumentOutOfRangeException>(() => PrecisionSupport.Decide((Precision)7, option, null, null, null));
    }

    [Theory]
    [InlineData("9.0", true, "bf16")]
    [InlineData("8.6", true, "bf16")]
    [InlineData("7.5", false, "fp32")]
    public void The_cuda_compute_capability_is_read_through_nvml(string capability, bool native, string auto)
    {
        // A fake libnvidia-ml (tests/fixtures/fake-nvml) reports one GPU of the given capability; in a child process,
        // since NVML is read once per process.
        var output = Program.RunSelf(["cuda-capability"], new Dictionary<string, string>
        {
            [GpuMemory.LibraryVariable] = Path.Combine(AppContext.BaseDirectory, "fixtures", "fake-nvml", "libfake-nvml.so"),
            ["FAKE_NVML_CC"] = capability,
        });
        using var json = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        Assert.Equal(native, json.RootElement.GetProperty("native").GetBoolean());
        Assert.Contains(capability, json.RootElement.GetProperty("what").GetString());
        Assert.Equal(auto, json.RootElement.GetProperty("auto").GetString());
    }
}

/// <summary>A bf16 fine-tuning run against the fp32 one at the same seed (seeded: runs alone, see <see cref="SeededRuns"/>).</summary>
[Collection(nameof(SeededRuns))]
public class PrecisionTrainingTests
{
    [Fact]
    public void Bf16_training_follows_the_fp32_loss_curve_and_reaches_its_accuracy()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(TextData.Topics3(120, seed: 23));
        var test = ml.Data.LoadFromEnumerable(TextData.Topics3(60, seed: 24));
        (double[] Losses, double Accuracy, float[] Scores) Run(Precision p)
        {
            var reports = new List<EpochReport>();
            var o = new TextTrainerOptions
            {
                Encoder = TextEncoderKind.Checkpoint, CheckpointPath = Fixtures.Checkpoint("tiny-bert"), Epochs = 4, BatchSize = 16, MaxLength = 32,
                LearningRate = 2e-3, Seed = 5, Precision = p, EpochProgress = new InlineProgress<EpochReport>(reports.Add),
            };
            var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.TextClassifier(o)).Fit(train);
            var scored = model.Transform(test);
            return (reports.Select(r => r.TrainLoss).ToArray(), ml.MulticlassClassification.Evaluate(scored).MicroAccuracy,
                TestProcesses.ScoredColumns(scored)["Score"].SelectMany(s => s).ToArray());
        }
        var fp32 = Run(Precision.Fp32);
        var bf16 = Run(Precision.Bf16);
        // Tolerance: per-epoch mean training loss within 0.05 of fp32's (the loss falls from ~1.1), and the test
        // accuracy within 2 of 60 rows; majority class is 1/3, so both must also have learned.
        for (int e = 0; e < fp32.Losses.Length; e++)
            Assert.True(Math.Abs(fp32.Losses[e] - bf16.Losses[e]) < 0.05, $"epoch {e + 1}: loss fp32 {fp32.Losses[e]:F4}, bf16 {bf16.Losses[e]:F4}");
        Assert.True(Math.Abs(fp32.Accuracy - bf16.Accuracy) <= 2 / 60.0 + 1e-9, $"accuracy fp32 {fp32.Accuracy:F3}, bf16 {bf16.Accuracy:F3}");
        Assert.True(fp32.Accuracy > 0.6 && bf16.Accuracy > 0.6, $"accuracy fp32 {fp32.Accuracy:F3}, bf16 {bf16.Accuracy:F3}");
        Assert.NotEqual(fp32.Scores, bf16.Scores); // bf16 really ran
    }
}
