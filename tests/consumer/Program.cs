// The README's pipeline as an application writes it, against the packages only:
//   fit CSV ZIP      fine-tune the bundled minilm on a few labelled reviews, evaluate, save the ML.NET zip, embed texts
//   predict ZIP      (a second process) load the zip with plain mlContext.Model.Load and predict with a PredictionEngine
// Exit code 0 only when every step did what it should; .ci/consumer.sh runs both.
using Microsoft.Extensions.AI;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.Estimators;
using MlNetLlm.Transforms.Embeddings;

string mode = args.Length > 0 ? args[0] : "";
switch (mode)
{
    case "fit":
        return await Fit(args[1], args[2]);
    case "predict":
        return Predict(args[1]);
    default:
        Console.Error.WriteLine("usage: Consumer fit CSV ZIP | predict ZIP");
        return 2;
}

static async Task<int> Fit(string csv, string zip)
{
    var ml = new MLContext(seed: 1);
    var all = ml.Data.LoadFromTextFile<Review>(csv, new TextLoader.Options { Separators = [','], HasHeader = true, AllowQuoting = true, ReadMultilines = true });
    var rows = ml.Data.CreateEnumerable<Review>(all, reuseRowObject: false).ToList();
    var train = ml.Data.LoadFromEnumerable(rows.Where(r => r.Split == "train").Take(96));
    var test = ml.Data.LoadFromEnumerable(rows.Where(r => r.Split == "test").Take(48));

    var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", nameof(Review.Score))
        .Append(ml.MulticlassClassification.Trainers.TextClassifier(new TextTrainerOptions
        {
            TextColumnName = nameof(Review.Text), CheckpointPath = "minilm", Epochs = 1, BatchSize = 16, MaxLength = 64,
        }))
        .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabelValue", "PredictedLabel"));
    var model = pipeline.Fit(train);
    var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
    Console.WriteLine($"fit: {96} training rows, test accuracy {metrics.MicroAccuracy:F3} on 48 rows");
    ml.Model.Save(model, train.Schema, zip);
    Console.WriteLine($"saved {zip} ({new FileInfo(zip).Length / 1_000_000} MB)");

    // Embeddings through Microsoft.Extensions.AI's abstraction: related reviews must be closer than unrelated ones.
    using IEmbeddingGenerator<string, Embedding<float>> generator = TransformerEmbeddingGenerator.FromCheckpoint("minilm");
    var e = await generator.GenerateAsync(["The coffee tastes wonderful.", "This coffee is delicious.", "The box arrived crushed and late."]);
    float Cos(int a, int b) => e[a].Vector.Span.ToArray().Zip(e[b].Vector.Span.ToArray(), (x, y) => x * y).Sum();
    Console.WriteLine($"embed: {e.Count} vectors of {e[0].Vector.Length}; cosine(coffee, coffee) {Cos(0, 1):F3}, cosine(coffee, box) {Cos(0, 2):F3}");
    if (e[0].Vector.Length != 384 || !(Cos(0, 1) > Cos(0, 2)))
    {
        Console.Error.WriteLine("embeddings are not what all-MiniLM-L6-v2 gives");
        return 1;
    }
    return 0;
}

static int Predict(string zip)
{
    var ml = new MLContext();
    var model = ml.Model.Load(zip, out var schema);
    var engine = ml.Model.CreatePredictionEngine<Review, Prediction>(model, inputSchema: schema);
    string[] labels = ["great", "other"];
    foreach (var text in new[] { "Absolutely delicious, my kids love these snacks and I will buy them again.", "Stale and tasteless, a waste of money." })
    {
        var p = engine.Predict(new Review { Text = text });
        Console.WriteLine($"predict: '{text}' -> {p.PredictedLabelValue} (scores {string.Join(", ", p.Score.Select(s => s.ToString("F3")))})");
        if (!labels.Contains(p.PredictedLabelValue) || p.Score.Length != 2 || Math.Abs(p.Score.Sum() - 1) > 1e-3)
        {
            Console.Error.WriteLine("the loaded model did not predict one of the training labels with probabilities");
            return 1;
        }
    }
    return 0;
}

public sealed class Review
{
    [LoadColumn(0)] public string Score { get; set; } = "";
    [LoadColumn(1)] public string Split { get; set; } = "";
    [LoadColumn(2)] public string Product { get; set; } = "";
    [LoadColumn(3)] public string Text { get; set; } = "";
}

public sealed class Prediction
{
    public string PredictedLabelValue { get; set; } = "";
    public float[] Score { get; set; } = [];
}
