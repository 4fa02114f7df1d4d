// Scoring without libtorch, as an application writes it against the MlNetLlm.Onnx package only:
//   save EXPORTED_DIR CSV ZIP     build the ONNX scorer (+ the class-name step) from a folder mlnet-llm export-onnx wrote,
//                                 check it on the CSV, save an ordinary ML.NET model zip
//   predict ZIP CSV OUT.csv       (a second process) plain mlContext.Model.Load, a PredictionEngine, and the whole CSV;
//                                 writes row,predicted_label,score as mlnet-llm predict does (score: the probability of
//                                 the positive class, or of the predicted class); fails if TorchSharp or libtorch got loaded
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.Onnx;

string mode = args.Length > 0 ? args[0] : "";
switch (mode)
{
    case "save" when args.Length == 4:
        return Save(args[1], args[2], args[3]);
    case "predict" when args.Length == 4:
        return Predict(args[1], args[2], args[3]);
    default:
        Console.Error.WriteLine("usage: OnnxConsumer save EXPORTED_DIR CSV ZIP | predict ZIP CSV OUT.csv");
        return 2;
}

static IDataView Load(MLContext ml, string csv) =>
    ml.Data.LoadFromTextFile<Review>(csv, new TextLoader.Options { Separators = [','], HasHeader = true, AllowQuoting = true });

static int Save(string exported, string csv, string zip)
{
    var ml = new MLContext(seed: 1);
    var data = Load(ml, csv);
    var estimator = ml.Transforms.Text.OnnxTextPrediction(new OnnxTextPredictionOptions { ModelFolder = exported, TextColumnName = nameof(Review.Text) });
    var model = estimator.WithPredictedLabelValue(ml).Fit(data);
    var labels = model.Transform(data).GetColumn<ReadOnlyMemory<char>>("PredictedLabelValue").Select(v => v.ToString()).ToList();
    Console.WriteLine($"save: {labels.Count} rows scored; predicted {string.Join(", ", labels.GroupBy(l => l).Select(g => $"{g.Key} {g.Count()}"))}");
    ml.Model.Save(model, data.Schema, zip);
    Console.WriteLine($"saved {zip} ({new FileInfo(zip).Length / 1_000_000} MB)");
    return 0;
}

static int Predict(string zip, string csv, string output)
{
    var ml = new MLContext();
    var model = ml.Model.Load(zip, out var schema);
    var engine = ml.Model.CreatePredictionEngine<Review, Prediction>(model, inputSchema: schema);
    var one = engine.Predict(new Review { Text = "Absolutely delicious, my kids love these snacks and I will buy them again." });
    Console.WriteLine($"predict: one review -> {one.PredictedLabelValue}");
    var scored = model.Transform(Load(ml, csv));
    var labels = scored.GetColumn<ReadOnlyMemory<char>>("PredictedLabelValue").Select(v => v.ToString()).ToList();
    var scores = scored.Schema.GetColumnOrNull("Probability") is not null
        ? scored.GetColumn<float>("Probability").ToList()
        : scored.GetColumn<float[]>("Score").Select(s => s.Max()).ToList();
    File.WriteAllLines(output, ["row,predicted_label,score", .. labels.Select((l, i) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{i},{l},{scores[i]:R}"))]);
    var torch = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name ?? "").Where(n => n.Contains("TorchSharp", StringComparison.OrdinalIgnoreCase)).ToList();
    var natives = File.ReadAllLines("/proc/self/maps").Where(l => l.Contains("libtorch", StringComparison.Ordinal) || l.Contains("LibTorchSharp", StringComparison.Ordinal)).ToList();
    if (torch.Count + natives.Count > 0 || string.IsNullOrEmpty(one.PredictedLabelValue))
    {
        Console.Error.WriteLine($"scoring loaded TorchSharp or libtorch ({string.Join(", ", torch)} {natives.Count} native mappings), or predicted nothing");
        return 1;
    }
    Console.WriteLine($"predict: {labels.Count} rows → {output}; no TorchSharp assembly and no libtorch in this process");
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
}
