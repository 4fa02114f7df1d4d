using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MlNetLlm.Modeling;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Tokenization;
using MlNetLlm.Modeling.Training;
using static TorchSharp.torch;

/// <summary>
/// Mixed precision, one table: the bundled MiniLM's training sequences/s (forward, backward, clipping and the AdamW
/// step on fp32 master weights: the project's TrainingLoop) and inference sentences/s (BatchInference with mean
/// pooling) in fp32 and bf16, ONNX Runtime fp32 on the package's original model.onnx, PyTorch with
/// torch.autocast("cpu", bfloat16), and a GEMM microbench giving this machine's fp32 and bf16 peaks, with the share of
/// the bf16 peak that training reaches. Same random token ids for every engine (batch x seq, no padding).
///   dotnet run -c Release --project bench/MlNetLlm.Bench -- precision [--batch 16] [--seq 128] [--steps 12] [--iters 10] [--threads 2] [--short]
/// </summary>
static class PrecisionBench
{
    private sealed record Row(string What, string Engine, double PerSecond, double? Gflops, string Note);

    public static int Run(string[] args)
    {
        var opt = new BenchOptions { Batch = 16 };
        int steps = 12, iters = 10;
        bool quick = false;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--short") { quick = true; continue; }
            string v = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"Option '{args[i]}' needs a value.");
            switch (args[i])
            {
                case "--batch": opt.Batch = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--seq": opt.Seq = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--steps": steps = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--iters": iters = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--threads": opt.Threads = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--python": opt.Python = v; break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
            i++;
        }
        if (quick) (steps, iters, opt.Batch, opt.Seq) = (2, 2, 4, 64); // checks that every row runs; numbers mean nothing
        opt.Warmup = 1;
        new DeviceOptions { Threads = opt.Threads }.Resolve();
        string dir = BenchModels.Ensure(opt, "minilm");
        var bf16 = PrecisionSupport.Resolve(Precision.Bf16, DeviceOptions.Cpu, "precision");
        Console.WriteLine($"# mixed precision: bundled minilm, batch {opt.Batch} x sequence {opt.Seq}, {opt.Threads} threads, {steps} training steps / {iters} inference batches timed after warm-up, {DateTime.UtcNow:yyyy-MM-dd}{(quick ? " (--short: a smoke run, not a measurement)" : "")}");
        Console.WriteLine($"# CPU bf16: {bf16.Reason}; load average before: {LoadAverage()}");

        var rows = new List<Row>();
        var (fp32Peak, bf16Peak, gemmRows) = Gemm(opt, quick);
        rows.AddRange(gemmRows);

        using var pretrained = PretrainedTransformer.Load(dir, new DeviceOptions { Threads = opt.Threads });
        var cfg = pretrained.Config;
        double trainFlops = 3 * ForwardFlops(cfg, opt.Batch, opt.Seq); // backward = 2 x forward (input and weight gradients)
        double inferFlops = ForwardFlops(cfg, opt.Batch, opt.Seq);

        var trainFp32 = Train(pretrained, opt, steps, Precision.Fp32);
        var trainBf16 = Train(pretrained, opt, steps, Precision.Bf16);
        rows.Add(new("training", "MlNetLlm fp32", trainFp32.PerSecond, trainFlops * trainFp32.PerSecond / opt.Batch / 1e9, "1.00x"));
        rows.Add(new("training", "MlNetLlm bf16 (fp32 master weights + AdamW)", trainBf16.PerSecond, trainFlops * trainBf16.PerSecond / opt.Batch / 1e9,
            string.Create(CultureInfo.InvariantCulture, $"{trainBf16.PerSecond / trainFp32.PerSecond:F2}x fp32; {trainFlops * trainBf16.PerSecond / opt.Batch / 1e9 / bf16Peak:P0} of bf16 GEMM peak; loss after {steps} steps {trainBf16.Loss:F4} vs fp32 {trainFp32.Loss:F4}")));

        // Where a training step's time goes: forward + backward alone (same batch, dropout on), and the optimizer step
        // on fp32 master weights, which bf16 cannot speed up (memory-bound, the same work in both).
        var partsFp32 = TrainParts(pretrained, opt, steps, Precision.Fp32);
        var partsBf16 = TrainParts(pretrained, opt, steps, Precision.Bf16);
        rows.Add(new("training: forward + backward only", "MlNetLlm fp32", opt.Batch / partsFp32.ForwardBackward, trainFlops / partsFp32.ForwardBackward / 1e9, string.Create(CultureInfo.InvariantCulture, $"{1000 * partsFp32.ForwardBackward:F0} ms per step")));
        rows.Add(new("training: forward + backward only", "MlNetLlm bf16", opt.Batch / partsBf16.ForwardBackward, trainFlops / partsBf16.ForwardBackward / 1e9,
            string.Create(CultureInfo.InvariantCulture, $"{1000 * partsBf16.ForwardBackward:F0} ms per step; {partsFp32.ForwardBackward / partsBf16.ForwardBackward:F2}x fp32; {trainFlops / partsBf16.ForwardBackward / 1e9 / bf16Peak:P0} of bf16 GEMM peak")));
        rows.Add(new("training: optimizer step", "clip + AdamW + zero_grad, fp32 master weights", double.NaN, null,
            string.Create(CultureInfo.InvariantCulture, $"{1000 * partsBf16.Optimizer:F0} ms per step ({pretrained.Encoder.parameters().Sum(p => p.numel()) / 1e6:F1} M parameters); {partsBf16.Optimizer / (partsBf16.Optimizer + partsBf16.ForwardBackward):P0} of a bf16 step, {partsFp32.Optimizer / (partsFp32.Optimizer + partsFp32.ForwardBackward):P0} of an fp32 one")));

        var ids = RandomRows(opt.Batch, opt.Seq, cfg.VocabSize, seed: 11);
        var encoder = new TransformerTextEncoder(pretrained.Encoder, Pooling.Mean);
        var (inferFp32, vecFp32) = Infer(encoder, ids, opt, iters, Precision.Fp32);
        var (inferBf16, vecBf16) = Infer(encoder, ids, opt, iters, Precision.Bf16);
        var (ort, vecOrt) = OnnxRuntime(BenchModels.Onnx(opt, "minilm", dir), ids, opt, iters);
        rows.Add(new("inference", "MlNetLlm fp32", inferFp32, inferFlops * inferFp32 / opt.Batch / 1e9, string.Create(CultureInfo.InvariantCulture, $"{inferFp32 / ort:F2}x ONNX Runtime; min cosine vs ONNX Runtime {MinCosine(vecFp32, vecOrt):F6}")));
        rows.Add(new("inference", "MlNetLlm bf16", inferBf16, inferFlops * inferBf16 / opt.Batch / 1e9, string.Create(CultureInfo.InvariantCulture, $"{inferBf16 / ort:F2}x ONNX Runtime; min cosine vs fp32 {MinCosine(vecBf16, vecFp32):F6}")));
        rows.Add(new("inference", "ONNX Runtime 1.31 fp32, original model.onnx (+ C# mean pooling)", ort, inferFlops * ort / opt.Batch / 1e9, "1.00x"));

        foreach (var mode in new[] { "infer", "train" })
            foreach (bool autocast in new[] { false, true })
            {
                string[] a = ["--model", dir, "--batch", $"{opt.Batch}", "--seq", $"{opt.Seq}", "--iters", $"{(mode == "train" ? steps : iters)}", "--warmup", "1", "--threads", $"{opt.Threads}"];
                if (mode == "train") a = [.. a, "--train"];
                if (autocast) a = [.. a, "--bf16"];
                if (PyTorchPeer.Run(opt, a) is not { } py) continue;
                var root = py.RootElement;
                double perSecond = root.GetProperty("sequences_per_s").GetDouble();
                double flops = mode == "train" ? trainFlops : inferFlops;
                string ours = mode == "train" ? $"MlNetLlm bf16 {trainBf16.PerSecond / perSecond:F2}x this" : $"MlNetLlm bf16 {inferBf16 / perSecond:F2}x this";
                rows.Add(new(mode == "train" ? "training" : "inference",
                    $"PyTorch {root.GetProperty("torch").GetString()} {(autocast ? "autocast(cpu, bfloat16)" : "fp32")}", perSecond, flops * perSecond / opt.Batch / 1e9, ours));
            }
        if (PyTorchPeer.Run(opt, "--gemm", "--threads", $"{opt.Threads}") is { } g)
            foreach (var (name, label) in new[] { ("fp32_gflops", "fp32"), ("bf16_gflops", "bf16") })
                rows.Add(new("GEMM 2048x384x1536", $"PyTorch {g.RootElement.GetProperty("torch").GetString()} {label} matmul", double.NaN, g.RootElement.GetProperty(name).GetDouble(),
                    string.Create(CultureInfo.InvariantCulture, $"{g.RootElement.GetProperty(name).GetDouble() / (label == "fp32" ? fp32Peak : bf16Peak):P0} of libtorch 2.10's {label} peak")));

        Console.WriteLine();
        Console.WriteLine("| what | engine | sequences/s | GFLOP/s | note |");
        Console.WriteLine("|---|---|---:|---:|---|");
        foreach (var r in rows)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.What} | {r.Engine} | {(double.IsNaN(r.PerSecond) ? "" : r.PerSecond.ToString("F1", CultureInfo.InvariantCulture))} | {(r.Gflops is { } f ? f.ToString("F0", CultureInfo.InvariantCulture) : "")} | {r.Note} |"));
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"aims: training bf16 ÷ fp32 = {trainBf16.PerSecond / trainFp32.PerSecond:F2} (aim ≥ 2.2); training share of bf16 GEMM peak = {trainFlops * trainBf16.PerSecond / opt.Batch / 1e9 / bf16Peak:P0} (aim ≥ 50%); inference bf16 ÷ ONNX Runtime fp32 = {inferBf16 / ort:F2} (aim ≥ 1.5)"));
        Console.WriteLine($"# load average after: {LoadAverage()}");
        return 0;
    }

    /// <summary>Matrix-product FLOPs of one encoder forward pass (linear layers and the two attention products).</summary>
    private static double ForwardFlops(MlNetLlm.Modeling.Checkpoints.TransformerConfig c, int batch, int seq)
    {
        double tokens = (double)batch * seq, h = c.HiddenSize, inter = c.IntermediateSize;
        double linear = 2 * tokens * (4 * h * h + 2 * h * inter);
        double attention = 2 * 2 * tokens * seq * h;
        return c.NumLayers * (linear + attention);
    }

    private static (double Fp32Peak, double Bf16Peak, List<Row> Rows) Gemm(BenchOptions opt, bool quick)
    {
        // MiniLM's products at 16 x 128 tokens: the feed-forward pair, one attention projection, and q/k/v stacked into one
        // product (what Autocast.Linear3 runs), then a square shape.
        (int M, int K, int N)[] shapes = [(2048, 384, 1536), (2048, 1536, 384), (2048, 384, 384), (2048, 384, 1152), (1024, 1024, 1024)];
        var rows = new List<Row>();
        double best32 = 0, best16 = 0;
        foreach (var (m, k, n) in shapes)
        {
            var g = new List<string>();
            double[] results = new double[2];
            int j = 0;
            foreach (var type in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            {
                using var scope = NewDisposeScope();
                var a = randn(m, k).to_type(type);
                var b = randn(k, n).to_type(type);
                matmul(a, b).Dispose();
                int reps = quick ? 2 : 20;
                var sw = Stopwatch.StartNew();
                for (int r = 0; r < reps; r++) matmul(a, b).Dispose();
                results[j++] = 2.0 * m * k * n * reps / sw.Elapsed.TotalSeconds / 1e9;
            }
            best32 = Math.Max(best32, results[0]);
            best16 = Math.Max(best16, results[1]);
            rows.Add(new($"GEMM {m}x{k}x{n}", "libtorch 2.10 fp32 / bf16 matmul", double.NaN, results[1],
                string.Create(CultureInfo.InvariantCulture, $"fp32 {results[0]:F0} GFLOP/s; bf16 {results[1] / results[0]:F1}x fp32")));
        }
        rows.Add(new("GEMM peak", "libtorch 2.10 fp32 / bf16 (best shape)", double.NaN, best16, string.Create(CultureInfo.InvariantCulture, $"fp32 peak {best32:F0} GFLOP/s")));
        return (best32, best16, rows);
    }

    private static (double PerSecond, double Loss) Train(PretrainedTransformer pretrained, BenchOptions opt, int steps, Precision precision)
    {
        // A fresh head on a copy of the pretrained weights, so fp32 and bf16 start from the same point.
        var state = pretrained.Encoder.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        try
        {
            manual_seed(1);
            var model = new TextHeadModel(new TransformerTextEncoder(pretrained.Encoder, Pooling.Mean), 2, 0.1);
            var rng = new Random(7);
            List<TrainingExample> Examples(int n) => RandomRows(n, opt.Seq, pretrained.Config.VocabSize, rng.Next()).Select(e => new TrainingExample(e, rng.Next(2))).ToList();
            var options = new TrainingOptions { Epochs = 1, BatchSize = opt.Batch, LearningRate = 5e-5, WarmupRatio = 0, Seed = 1, LengthBucketing = false, Precision = precision };
            TrainingLoop.Train(model, TaskKind.Multiclass, Examples(2 * opt.Batch), null, options, 0, pretrained.Device); // warm-up
            var timed = Examples(steps * opt.Batch);
            var sw = Stopwatch.StartNew();
            var result = TrainingLoop.Train(model, TaskKind.Multiclass, timed, null, options, 0, pretrained.Device);
            return (timed.Count / sw.Elapsed.TotalSeconds, result.Epochs[^1].TrainLoss);
        }
        finally
        {
            using (no_grad())
                foreach (var (k, v) in pretrained.Encoder.state_dict()) v.copy_(state[k]);
            foreach (var t in state.Values) t.Dispose();
        }
    }

    /// <summary>Median seconds of forward + backward, and of clipping + AdamW step + zero_grad, on one fixed batch.</summary>
    private static (double ForwardBackward, double Optimizer) TrainParts(PretrainedTransformer pretrained, BenchOptions opt, int steps, Precision precision)
    {
        var state = pretrained.Encoder.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        try
        {
            manual_seed(1);
            var model = new TextHeadModel(new TransformerTextEncoder(pretrained.Encoder, Pooling.Mean), 2, 0.1); // not disposed: it holds the shared encoder
            model.train();
            var batch = TokenBatch.Pad(RandomRows(opt.Batch, opt.Seq, pretrained.Config.VocabSize, seed: 13), 0);
            using var targets = tensor(Enumerable.Range(0, opt.Batch).Select(i => (long)(i % 2)).ToArray());
            var parameters = model.parameters().ToList();
            using var adamw = optim.AdamW(parameters, lr: 5e-5, weight_decay: 0.01);
            var fb = new List<double>();
            var op = new List<double>();
            for (int s = 0; s <= steps; s++) // the first is a warm-up
            {
                var sw = Stopwatch.StartNew();
                using (NewDisposeScope())
                {
                    TorchSharp.torch.Tensor logits;
                    using (Autocast.Enter(precision)) logits = model.forward(batch.ToEncoderInput(CPU, true));
                    nn.functional.cross_entropy(logits, targets).backward();
                }
                double forwardBackward = sw.Elapsed.TotalSeconds;
                sw.Restart();
                nn.utils.clip_grad_norm_(parameters, 1.0);
                adamw.step();
                adamw.zero_grad();
                if (s > 0) { fb.Add(forwardBackward); op.Add(sw.Elapsed.TotalSeconds); }
            }
            return (fb.Order().ElementAt(fb.Count / 2), op.Order().ElementAt(op.Count / 2));
        }
        finally
        {
            using (no_grad())
                foreach (var (k, v) in pretrained.Encoder.state_dict()) v.copy_(state[k]);
            foreach (var t in state.Values) t.Dispose();
        }
    }

    private static List<EncodedText> RandomRows(int n, int seq, int vocab, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ =>
        {
            var ids = new int[seq];
            ids[0] = 101;
            for (int j = 1; j < seq - 1; j++) ids[j] = 1000 + rng.Next(vocab - 1000);
            ids[^1] = 102;
            return new EncodedText(ids, new int[seq]);
        }).ToList();
    }

    private static (double PerSecond, float[][] Vectors) Infer(TransformerTextEncoder encoder, List<EncodedText> rows, BenchOptions opt, int iters, Precision precision)
    {
        // As the embedding transform and the trained classifiers do: bf16 weight copies made once, kept across batches.
        using var weights = new Autocast.WeightCache();
        float[][] vectors = BatchInference.Predict(encoder, true, rows, opt.Batch, 0, CPU, precision, weights); // warm-up
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < iters; i++) vectors = BatchInference.Predict(encoder, true, rows, opt.Batch, 0, CPU, precision, weights);
        return (iters * rows.Count / sw.Elapsed.TotalSeconds, vectors);
    }

    private static (double PerSecond, float[][] Vectors) OnnxRuntime(string onnx, List<EncodedText> rows, BenchOptions opt, int iters)
    {
        using var so = new SessionOptions { IntraOpNumThreads = opt.Threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(onnx, so);
        var batch = TokenBatch.Pad(rows, 0);
        int[] dims = [batch.BatchSize, batch.SequenceLength];
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(batch.InputIds, dims)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(batch.AttentionMask, dims)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(batch.TokenTypeIds, dims)),
        };
        float[][] Pool()
        {
            using var result = session.Run(inputs);
            var t = result.First().AsTensor<float>();
            int s = t.Dimensions[1], h = t.Dimensions[2];
            var flat = t.ToArray();
            return Enumerable.Range(0, batch.BatchSize).Select(r =>
            {
                var v = new float[h];
                for (int j = 0; j < s; j++)
                    for (int d = 0; d < h; d++) v[d] += flat[(r * s + j) * h + d] / s; // no padding: every token is real
                return v;
            }).ToArray();
        }
        var vectors = Pool(); // warm-up
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < iters; i++) vectors = Pool();
        return (iters * rows.Count / sw.Elapsed.TotalSeconds, vectors);
    }

    private static double MinCosine(float[][] a, float[][] b) => a.Zip(b, (x, y) =>
    {
        double dot = 0, nx = 0, ny = 0;
        for (int i = 0; i < x.Length; i++) { dot += x[i] * y[i]; nx += x[i] * x[i]; ny += y[i] * y[i]; }
        return dot / Math.Sqrt(nx * ny);
    }).Min();

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
}
