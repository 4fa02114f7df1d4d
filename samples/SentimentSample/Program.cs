// Sentiment on Amazon Fine Foods reviews with an ML.NET pipeline: fit, evaluate, save, load in a new context, predict.
//   dotnet run --project samples/SentimentSample [-- --encoder checkpoint:minilm|checkpoint:DIR|lstm|transformer] [--epochs N] [--glove FILE]
// Data: samples/data/amazon_fine_foods.csv (given split column: 4,000 train / 1,000 test; label "great" / "other").
// Default: fine-tune the bundled all-MiniLM-L6-v2 ("minilm") for one epoch (the CPU-friendly setting); lstm and
// transformer train from scratch for 3 epochs.
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.Estimators;
using MlNetLlm.Modeling.Training;

string encoder = "checkpoint:minilm";
int? epochs = null;
string? glove = null;
for (int i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--encoder": encoder = args[i + 1]; break;
        case "--epochs": epochs = int.Parse(args[i + 1]); break;
        case "--glove": glove = args[i + 1]; break;
        default: throw new ArgumentException($"Unknown option '{args[i]}'.");
    }
}

var ml = new MLContext(seed: 1);
string csv = Path.Combine(AppContext.BaseDirectory, "data", "amazon_fine_foods.csv");
var all = ml.Data.LoadFromTextFile<Review>(csv, new TextLoader.Options { Separators = [','], HasHeader = true, AllowQuoting = true, ReadMultilines = true });
var train = ml.Data.FilterByCustomPredicate<Review>(all, r => r.Split != "train");
var test = ml.Data.FilterByCustomPredicate<Review>(all, r => r.Split != "test");

var options = new TextTrainerOptions
{
    TextColumnName = nameof(Review.Text),
    LabelColumnName = "Label",
    Encoder = encoder.StartsWith("checkpoint:") ? TextEncoderKind.Checkpoint : Enum.Parse<TextEncoderKind>(encoder, ignoreCase: true),
    CheckpointPath = encoder.StartsWith("checkpoint:") ? encoder["checkpoint:".Length..] : null,
    GlovePath = glove,
    Epochs = epochs ?? (encoder.StartsWith("checkpoint:") ? 1 : 3),
    BatchSize = 32,
    MaxLength = 128,
    EpochProgress = new ConsoleProgress(),
};
var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", nameof(Review.Rating))
    .Append(ml.MulticlassClassification.Trainers.TextClassifier(options))
    .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedScore", "PredictedLabel"));

Console.WriteLine($"Training {encoder} for {options.Epochs} epochs on {train.GetRowCount() ?? ml.Data.CreateEnumerable<Review>(train, false).Count()} reviews...");
var sw = Stopwatch.StartNew();
var model = pipeline.Fit(train);
Console.WriteLine($"Trained in {sw.Elapsed.TotalSeconds:F1} s.");

var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
Console.WriteLine($"Test: accuracy {metrics.MicroAccuracy:F3}, macro accuracy {metrics.MacroAccuracy:F3}, log-loss {metrics.LogLoss:F3}");

string zip = Path.Combine(Path.GetTempPath(), "mlnetllm-sentiment.zip");
ml.Model.Save(model, train.Schema, zip);
var loaded = new MLContext().Model.Load(zip, out _);
Console.WriteLine($"Saved to {zip} ({new FileInfo(zip).Length / 1024} KiB) and loaded back.");

var engine = ml.Model.CreatePredictionEngine<Review, Prediction>(loaded);
foreach (var text in new[] { "Absolutely delicious, my kids ask for it every day.", "Stale, tasteless and overpriced. Never again." })
{
    var p = engine.Predict(new Review { Text = text });
    Console.WriteLine($"  {p.PredictedScore,-6} ({p.Score.Max():P0})  {text}");
}

public sealed class Review
{
    [LoadColumn(0)] public string Rating { get; set; } = "";
    [LoadColumn(1)] public string Split { get; set; } = "";
    [LoadColumn(3), ColumnName("Text")] public string Text { get; set; } = "";
}

public sealed class Prediction
{
    public string PredictedScore { get; set; } = "";
    public float[] Score { get; set; } = [];
}

sealed class ConsoleProgress : IProgress<EpochReport>
{
    public void Report(EpochReport r) => Console.WriteLine($"  epoch {r.Epoch}/{r.Epochs}: train loss {r.TrainLoss:F4} ({r.Seconds:F1} s)");
}
