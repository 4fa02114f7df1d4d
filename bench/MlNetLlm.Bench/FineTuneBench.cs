using System.Diagnostics;
using System.Globalization;
using MlNetLlm.Modeling;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Tokenization;
using MlNetLlm.Modeling.Training;

/// <summary>
/// Fine-tuning throughput: the bundled model (or any checkpoint folder) with a mean-pooled 2-class head, AdamW,
/// dropout on, fixed-shape batches of random token ids (no padding, so batching cannot differ), MlNetLlm's training
/// loop against the same model and head in PyTorch (bench/pytorch_bench.py --train), same weights, same threads.
///   dotnet run -c Release --project bench/MlNetLlm.Bench -- finetune [--model minilm] [--batch 16] [--seq 128] [--steps 12] [--threads 2]
/// </summary>
static class FineTuneBench
{
    public static int Run(string[] args)
    {
        var opt = new BenchOptions { Batch = 16 };
        string model = "minilm";
        int steps = 12;
        for (int i = 0; i < args.Length; i += 2)
        {
            string v = args[i + 1];
            switch (args[i])
            {
                case "--model": model = v; break;
                case "--batch": opt.Batch = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--seq": opt.Seq = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--steps": steps = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--threads": opt.Threads = int.Parse(v, CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }
        string dir = BenchModels.Ensure(opt, model);
        Console.WriteLine($"# fine-tuning throughput: {model}, batch {opt.Batch} x sequence {opt.Seq}, {steps} timed steps after 2 warm-up steps, {opt.Threads} threads, fp32 CPU, {DateTime.UtcNow:yyyy-MM-dd}");

        double ours = TimeOurs(dir, opt, steps);
        var rows = new List<(string Engine, double PerSecond)> { ("MlNetLlm TrainingLoop (TorchSharp 0.107, libtorch 2.10)", ours) };
        if (PyTorchPeer.Run(opt, "--train", "--model", dir, "--batch", $"{opt.Batch}", "--seq", $"{opt.Seq}", "--iters", $"{steps}", "--warmup", "2", "--threads", $"{opt.Threads}") is { } py)
            rows.Add(($"PyTorch {py.RootElement.GetProperty("torch").GetString()} (same model + head, AdamW)", py.RootElement.GetProperty("sequences_per_s").GetDouble()));
        Console.WriteLine();
        Console.WriteLine("| engine | training sequences/s | MlNetLlm speed ÷ this |");
        Console.WriteLine("|---|---:|---:|");
        foreach (var (engine, perSecond) in rows)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {engine} | {perSecond:F2} | {ours / perSecond:F2} |"));
        return 0;
    }

    private static double TimeOurs(string dir, BenchOptions opt, int steps)
    {
        TorchSharp.torch.set_num_threads(opt.Threads);
        using var pretrained = PretrainedTransformer.Load(dir, new DeviceOptions { Threads = opt.Threads });
        var model = new TextHeadModel(new TransformerTextEncoder(pretrained.Encoder, Pooling.Mean), 2, 0.1);
        var rng = new Random(7);
        List<TrainingExample> Examples(int n) => Enumerable.Range(0, n).Select(_ =>
            new TrainingExample(new EncodedText(Enumerable.Range(0, opt.Seq).Select(_ => rng.Next(1000, pretrained.Config.VocabSize)).ToArray(), new int[opt.Seq]), rng.Next(2))).ToList();
        var options = new TrainingOptions { Epochs = 1, BatchSize = opt.Batch, LearningRate = 5e-5, WarmupRatio = 0, Seed = 1 };
        TrainingLoop.Train(model, TaskKind.Multiclass, Examples(2 * opt.Batch), null, options, 0, pretrained.Device); // warm-up
        var timed = Examples(steps * opt.Batch);
        var sw = Stopwatch.StartNew();
        TrainingLoop.Train(model, TaskKind.Multiclass, timed, null, options, 0, pretrained.Device);
        return timed.Count / sw.Elapsed.TotalSeconds;
    }
}
