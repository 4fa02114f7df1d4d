using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MlNetLlm.Modeling;
using MlNetLlm.Modeling.Export;
using MlNetLlm.Modeling.Training;
using MlNetLlm.Tokenization;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Tests;

/// <summary>
/// The exported graph against the TorchSharp model it was written from, run by ONNX Runtime (nobody on the team wrote
/// its kernels): every encoder family, every pooling, a head, real review texts in padded batches of other lengths
/// and another grouping than the TorchSharp side used.
/// </summary>
public class OnnxExportTests
{
    private static List<string> Texts => BundledModelFiles.OnnxTexts;

    [Theory]
    [InlineData("tiny-bert", Pooling.Mean)]
    [InlineData("tiny-bert", Pooling.Pooler)]
    [InlineData("tiny-roberta", Pooling.Cls)]
    [InlineData("tiny-xlmr", Pooling.Max)]
    [InlineData("tiny-distilbert", Pooling.Mean)]
    public void Exported_classifier_gives_the_torchsharp_logits(string fixture, Pooling pooling)
    {
        using var dir = new Fixtures.TempDir();
        using var pretrained = PretrainedTransformer.Load(Fixtures.Checkpoint(fixture));
        var (spec, encoder) = EncoderSpec.FromPretrained(pretrained, pooling, maxLength: 48);
        manual_seed(3);
        using var model = new TextHeadModel(encoder, outputs: 4);
        var source = new OnnxExportSource
        {
            Description = fixture, Body = spec, Encoder = encoder, TokenizerFiles = pretrained.TokenizerFiles, TextColumns = ["Text"],
            Head = new OnnxExportHead { Task = TaskKind.Multiclass, Model = model, LabelNames = ["a", "b", "c", "d"] },
        };
        string folder = Path.Combine(dir.Path, "export");
        var result = OnnxExport.Export(source, folder);
        Assert.Equal("prediction", result.Kind);

        var encoded = Texts.Select(t => pretrained.Tokenizer.Encode(t, maxLength: 48)).ToList();
        var expected = BatchInference.Predict(model, encoder.UsesTokenTypes, encoded, batchSize: 8, pretrained.Tokenizer.Special.Padding, CPU);
        var actual = RunOnnx(Path.Combine(folder, OnnxExport.GraphFile), encoded, pretrained.Tokenizer.Special.Padding, batchSize: 5, encoder.UsesTokenTypes);
        Assert.True(BundledModelFiles.MaxAbsDiff(expected, actual) <= 1e-4, $"max |diff| {BundledModelFiles.MaxAbsDiff(expected, actual):E2}");
        Assert.True(expected.SelectMany(r => r).Max() - expected.SelectMany(r => r).Min() > 0.1, "the logits must differ between rows and classes for the comparison to mean something");
    }

    [Theory]
    [InlineData("tiny-bert", Pooling.Cls)]
    [InlineData("tiny-roberta", Pooling.Mean)]
    [InlineData("tiny-distilbert", Pooling.Max)]
    public void Exported_checkpoint_gives_the_torchsharp_embeddings(string fixture, Pooling pooling)
    {
        using var dir = new Fixtures.TempDir();
        string folder = Path.Combine(dir.Path, "export");
        var result = OnnxExport.ExportCheckpoint(Fixtures.Checkpoint(fixture), folder, pooling, maxLength: 40);
        Assert.Equal("embedding", result.Kind);
        Assert.Contains(OnnxExport.ManifestFile, result.Files);

        using var pretrained = PretrainedTransformer.Load(Fixtures.Checkpoint(fixture));
        var (_, encoder) = EncoderSpec.FromPretrained(pretrained, pooling, 40);
        var encoded = Texts.Select(t => pretrained.Tokenizer.Encode(t, maxLength: 40)).ToList();
        var expected = BatchInference.Predict(encoder, encoder.UsesTokenTypes, encoded, batchSize: 32, pretrained.Tokenizer.Special.Padding, CPU);
        var actual = RunOnnx(Path.Combine(folder, OnnxExport.GraphFile), encoded, pretrained.Tokenizer.Special.Padding, batchSize: 3, encoder.UsesTokenTypes);
        Assert.True(BundledModelFiles.MaxAbsDiff(expected, actual) <= 1e-4, $"max |diff| {BundledModelFiles.MaxAbsDiff(expected, actual):E2}");
    }

    [Fact]
    public void Int8_weights_round_trip_within_half_a_step_and_the_int8_graph_stays_close()
    {
        var rng = new Random(1);
        float[] w = Enumerable.Range(0, 6 * 5).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var (q, scales) = OnnxInt8Linear.Quantize(w, inFeatures: 6, outFeatures: 5, perChannel: true);
        for (int i = 0; i < 6; i++)
            for (int o = 0; o < 5; o++)
                Assert.InRange(Math.Abs(q[i * 5 + o] * scales[o] - w[i * 5 + o]), 0, scales[o] / 2 + 1e-6);
        Assert.Equal(127, Enumerable.Range(0, 6).Max(i => Math.Abs((int)q[i * 5])));

        using var dir = new Fixtures.TempDir();
        string fp32 = Path.Combine(dir.Path, "fp32"), int8 = Path.Combine(dir.Path, "int8");
        OnnxExport.ExportCheckpoint(Fixtures.Checkpoint("tiny-bert"), fp32, Pooling.Mean, 48);
        OnnxExport.ExportCheckpoint(Fixtures.Checkpoint("tiny-bert"), int8, Pooling.Mean, 48, options: new OnnxExportOptions { Quantization = OnnxQuantization.Int8 });
        Assert.True(new FileInfo(Path.Combine(int8, "model.onnx")).Length < new FileInfo(Path.Combine(fp32, "model.onnx")).Length);
        using var pretrained = PretrainedTransformer.Load(Fixtures.Checkpoint("tiny-bert"));
        var encoded = Texts.Select(t => pretrained.Tokenizer.Encode(t, maxLength: 48)).ToList();
        var a = RunOnnx(Path.Combine(fp32, "model.onnx"), encoded, 0, 8, true);
        var b = RunOnnx(Path.Combine(int8, "model.onnx"), encoded, 0, 8, true);
        double diff = BundledModelFiles.MaxAbsDiff(a, b), cosine = a.Zip(b, Cosine).Min();
        Assert.True(diff > 0, "the int8 graph must actually be quantized");
        Assert.True(cosine > 0.99, $"int8 embeddings drift from fp32: min cosine {cosine:F4}, max |diff| {diff:E2}");
        // The default scope: per layer, query, key, value, attention output and FFN input in int8; the FFN output in fp32.
        var graph = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(int8, "model.onnx"))).Graph;
        var quantized = graph.Node.Where(n => n.OpType == "MatMulInteger").Select(n => n.Input[1]).ToList();
        Assert.Equal(2 * 5, quantized.Count); // tiny-bert: 2 layers
        Assert.DoesNotContain(quantized, name => name.Contains("layer.0.output.dense") || name.Contains("layer.1.output.dense"));
    }

    internal static float[][] RunOnnx(string graph, IReadOnlyList<EncodedText> rows, int padId, int batchSize, bool tokenTypes)
    {
        using var session = new InferenceSession(graph);
        var result = new List<float[]>();
        for (int start = 0; start < rows.Count; start += batchSize)
        {
            var batch = TokenBatch.Pad(rows.Skip(start).Take(batchSize).ToList(), padId);
            int[] dims = [batch.BatchSize, batch.SequenceLength];
            var inputs = new List<NamedOnnxValue>
            {
                NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(batch.InputIds, dims)),
                NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(batch.AttentionMask, dims)),
            };
            if (tokenTypes) inputs.Add(NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(batch.TokenTypeIds, dims)));
            using var output = session.Run(inputs);
            var t = output.Single().AsTensor<float>();
            int k = t.Dimensions[1];
            var flat = t.ToArray();
            for (int r = 0; r < batch.BatchSize; r++) result.Add(flat.AsSpan(r * k, k).ToArray());
        }
        return [.. result];
    }

    internal static double Cosine(float[] a, float[] b) =>
        a.Zip(b, (x, y) => (double)x * y).Sum() / Math.Sqrt(a.Sum(x => (double)x * x) * b.Sum(x => (double)x * x));
}
