using System.Diagnostics;
using Microsoft.ML;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.Estimators.Jobs;

/// <summary>
/// Reads a CSV, splits it, trains one encoder (or the TF-IDF baseline) through ML.NET pipelines, evaluates on the
/// test part and returns the model (input: the text columns) with its metrics. Shared by the CLI, the samples and the
/// benchmark so every comparison runs the same code.
/// </summary>
public static partial class TextTrainingJob
{
    public sealed record Result(ITransformer Model, DataViewSchema InputSchema, TextJobMetrics Metrics, IDataView ScoredTest);

    public static Result Run(MLContext ml, TextJobOptions o)
    {
        if (o.EncoderName == "tfidf" && o.GlovePath is not null)
            throw new ArgumentException("TextJobOptions.GlovePath is read by the lstm and wordvec encoders, not TextJobOptions.Encoder tfidf.");
        var data = TextJobData.Load(o);
        var sw = Stopwatch.StartNew();
        var (model, epochs, precision) = Fit(ml, o, data);
        double trainSeconds = sw.Elapsed.TotalSeconds;
        var scored = model.Transform(data.TestView(ml));
        var metrics = Evaluate(ml, data, model) with
        {
            Encoder = o.EncoderName, TrainSeconds = Math.Round(trainSeconds, 2), Rows = data.Train.Count, TestRows = data.Test.Count, Epochs = epochs, Precision = precision,
        };
        return new Result(model, data.InputView(ml, data.Train).Schema, metrics, scored);
    }

    private static (ITransformer, IReadOnlyList<EpochReport>?, string?) Fit(MLContext ml, TextJobOptions o, TextJobData d)
    {
        var train = d.TrainView(ml);
        string[] text = [.. o.TextColumns];
        if (o.EncoderName is "tfidf" or "wordvec" && o.Trainer?.Precision == Modeling.Runtime.Precision.Bf16)
            throw new ArgumentException($"TextTrainerOptions.Precision Bf16 applies to the neural encoders; TextJobOptions.Encoder {o.EncoderName} trains ML.NET's own fp32 learners. Use Auto or Fp32.");
        if (o.EncoderName == "tfidf")
        {
            var featurize = TfIdfFeatures(ml, text);
            var pipeline = featurize.Append(TaskTrainers.Sdca(ml, d.Task));
            return (WithLabelNames(ml, d, pipeline.Fit(train), train), null, null);
        }

        if (o.EncoderName == "wordvec")
            return (WithLabelNames(ml, d, WordVectorBaseline(ml, o, d, text).Fit(train), train), null, null);

        var t = o.Trainer?.Copy() ?? new TextTrainerOptions(); // the caller's options stay as they were
        t.TextColumnName = text[0];
        t.SecondTextColumnName = text.Length > 1 ? text[1] : null;
        t.LabelColumnName = "Label";
        t.Seed = o.Seed;
        t.GlovePath = o.GlovePath;
        if (o.EncoderName.StartsWith("checkpoint:", StringComparison.Ordinal))
        {
            t.Encoder = TextEncoderKind.Checkpoint;
            t.CheckpointPath = o.EncoderName["checkpoint:".Length..];
        }
        else
        {
            t.Encoder = o.EncoderName switch
            {
                "lstm" => TextEncoderKind.Lstm,
                "transformer" => TextEncoderKind.Transformer,
                _ => throw new ArgumentException($"TextJobOptions.Encoder '{o.EncoderName}' is not one of lstm, transformer, tfidf, wordvec, checkpoint:DIR.", nameof(o.Encoder)),
            };
        }
        var fitted = TaskTrainers.Text(ml, d.Task, t).Fit(train);
        return (WithLabelNames(ml, d, fitted, train), fitted.Training?.Epochs, fitted.Precision.Name);
    }

    /// <summary>
    /// The classical ML.NET text features: one FeaturizeText per text column, concatenated into "Features", cached
    /// (SDCA and L-BFGS pass over the data many times; re-featurizing each pass made SDCA ten times slower).
    /// </summary>
    public static IEstimator<ITransformer> TfIdfFeatures(MLContext ml, IReadOnlyList<string> textColumns)
    {
        IEstimator<ITransformer> featurize = textColumns.Count == 1
            ? ml.Transforms.Text.FeaturizeText("Features", textColumns[0])
            : ml.Transforms.Text.FeaturizeText("Features0", textColumns[0])
                .Append(ml.Transforms.Text.FeaturizeText("Features1", textColumns[1]))
                .Append(ml.Transforms.Concatenate("Features", "Features0", "Features1"));
        return featurize.AppendCacheCheckpoint(ml);
    }

    /// <summary>
    /// ML.NET's own word-vector baseline, no new code: normalise, split into words, average the GloVe vectors of the words
    /// (ApplyWordEmbedding gives min, mean and max), then the SDCA trainer of the task.
    /// </summary>
    private static IEstimator<ITransformer> WordVectorBaseline(MLContext ml, TextJobOptions o, TextJobData d, string[] text)
    {
        if (o.GlovePath is null) throw new ArgumentException("TextJobOptions.Encoder wordvec needs TextJobOptions.GlovePath (a GloVe text file).");
        if (text.Length != 1) throw new ArgumentException("TextJobOptions.Encoder wordvec takes one text column (TextJobOptions.TextColumns).");
        var pipeline = ml.Transforms.Text.NormalizeText("Normalized", text[0], keepDiacritics: false, keepPunctuations: false)
            .Append(ml.Transforms.Text.TokenizeIntoWords("Words", "Normalized"))
            .Append(ml.Transforms.Text.ApplyWordEmbedding("Features", PlainGloveFile(o.GlovePath), "Words"))
            // SDCA needs scaled features (unscaled min/mean/max vectors made multiclass SDCA diverge on the fortunes data).
            .Append(ml.Transforms.NormalizeMinMax("Features"))
            .AppendCacheCheckpoint(ml);
        return pipeline.Append(TaskTrainers.Sdca(ml, d.Task));
    }

    /// <summary>ApplyWordEmbedding reads plain text: a .gz GloVe file is expanded once into the temp folder.</summary>
    private static string PlainGloveFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"GloVe file '{path}' does not exist.", path);
        if (!path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) return path;
        string target = Path.Combine(Path.GetTempPath(), $"mlnetllm-{Path.GetFileNameWithoutExtension(path)}-{new FileInfo(path).Length}");
        if (!File.Exists(target))
        {
            using var gz = new System.IO.Compression.GZipStream(File.OpenRead(path), System.IO.Compression.CompressionMode.Decompress);
            using var tmp = File.Create(target + ".part");
            gz.CopyTo(tmp);
            tmp.Close();
            File.Move(target + ".part", target, overwrite: true);
        }
        return target;
    }
}
