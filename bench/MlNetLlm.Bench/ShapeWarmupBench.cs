using System.Diagnostics;
using System.Globalization;
using MlNetLlm.Modeling;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;
using MlNetLlm.Tokenization;
using static TorchSharp.torch;

/// <summary>
/// What a training step costs the first time libtorch meets a batch shape, against the same shape met again: the
/// bundled MiniLM with a 2-class head, forward + backward + clipping + AdamW, batch 16, in fp32 and bf16, over twelve
/// sequence lengths taken in turn (each new), then the same twelve again. Length-bucketed fine-tuning meets many shapes
/// in its first batches, so this is what an experiment's first-batches projection of an epoch has to allow for.
///   dotnet run -c Release --project bench/MlNetLlm.Bench -- shape-warmup [--batch 16] [--from 72] [--lengths 12] [--threads 2]
/// </summary>
static class ShapeWarmupBench
{
    public static int Run(string[] args)
    {
        var opt = new BenchOptions { Batch = 16 };
        int from = 72, count = 12;
        for (int i = 0; i + 1 < args.Length; i += 2)
            switch (args[i])
            {
                case "--batch": opt.Batch = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--from": from = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--lengths": count = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--threads": opt.Threads = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        new DeviceOptions { Threads = opt.Threads }.Resolve();
        string dir = BenchModels.Ensure(opt, "minilm");
        using var pretrained = PretrainedTransformer.Load(dir, new DeviceOptions { Threads = opt.Threads });
        Console.WriteLine($"# shape warm-up: bundled minilm, batch {opt.Batch}, sequence lengths {from}-{from + count - 1} in turn, then again; {opt.Threads} threads, " +
                          $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average {File.ReadAllText("/proc/loadavg")[..14]}");
        Console.WriteLine("| precision | pass | median s/step | total s | note |");
        Console.WriteLine("|---|---|---:|---:|---|");
        foreach (var precision in new[] { Precision.Bf16, Precision.Fp32 })
        {
            manual_seed(1);
            var model = new TextHeadModel(new TransformerTextEncoder(pretrained.Encoder, Pooling.Mean), 2, 0.1); // shares the encoder
            model.train();
            var parameters = model.parameters().ToList();
            using var adamw = optim.AdamW(parameters, lr: 1e-9, weight_decay: 0.01); // a tiny rate: the weights barely move between precisions
            using var targets = tensor(Enumerable.Range(0, opt.Batch).Select(i => (long)(i % 2)).ToArray());
            foreach (string pass in new[] { "each length new", "same lengths again" })
            {
                var times = new List<double>();
                for (int len = from; len < from + count; len++)
                {
                    var rows = Enumerable.Range(0, opt.Batch).Select(r => new EncodedText(Enumerable.Range(0, len).Select(j => 1000 + (r * 31 + j * 7) % 20000).ToArray(), new int[len])).ToList();
                    var batch = TokenBatch.Pad(rows, 0);
                    var sw = Stopwatch.StartNew();
                    using (NewDisposeScope())
                    {
                        Tensor logits;
                        using (Autocast.Enter(precision)) logits = model.forward(batch.ToEncoderInput(CPU, true));
                        nn.functional.cross_entropy(logits, targets).backward();
                    }
                    nn.utils.clip_grad_norm_(parameters, 1.0);
                    adamw.step();
                    adamw.zero_grad();
                    times.Add(sw.Elapsed.TotalSeconds);
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {precision} | {pass} | {times.Order().ElementAt(times.Count / 2):F3} | {times.Sum():F2} | first step {times[0]:F3} s |"));
            }
        }
        Console.WriteLine($"# load average after: {File.ReadAllText("/proc/loadavg")[..14]}");
        return 0;
    }
}
