using Microsoft.ML;
using MlNetLlm.Estimators;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Modeling.Training;
using static TorchSharp.torch;

namespace MlNetLlm.Estimators.Tests;

/// <summary>The CSV → split → train → evaluate job behind `mlnet-llm train`, and the GloVe initialisation.</summary>
public class TrainingJobTests
{
    private static string WriteCsv(Fixtures.TempDir dir, string name, IEnumerable<string> lines)
    {
        string path = dir.File(name);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static string Quote(string s) => "\"" + s.Replace("\"", "\"\"") + "\"";

    [Fact]
    public void Tfidf_baseline_and_lstm_run_on_a_csv_with_quotes_and_embedded_newlines()
    {
        using var dir = new Fixtures.TempDir();
        var rows = TextData.Topics3(150, seed: 21);
        var lines = new List<string> { "id,topic,body" };
        lines.AddRange(rows.Select((r, i) => $"{i},{r.Label},{Quote(i % 10 == 0 ? r.Text + ",\n \"quoted\" tail" : r.Text)}"));
        string csv = WriteCsv(dir, "data.csv", lines);
        var ml = new MLContext(seed: 1);

        var tfidf = TextTrainingJob.Run(ml, new TextJobOptions { Dataset = csv, LabelColumn = "topic", TextColumns = ["body"], Encoder = "tfidf" });
        Assert.Equal("multiclass", tfidf.Metrics.Task);
        Assert.Equal(120, tfidf.Metrics.Rows);
        Assert.Equal(30, tfidf.Metrics.TestRows);
        Assert.InRange(tfidf.Metrics.MacroF1!.Value, 0.5, 1.0);

        var lstm = TextTrainingJob.Run(ml, new TextJobOptions
        {
            Dataset = csv, LabelColumn = "topic", TextColumns = ["body"], Encoder = "lstm",
            Trainer = new TextTrainerOptions { Epochs = 4, MinWordCount = 1, LstmHiddenSize = 32, LstmEmbeddingSize = 32, LearningRate = 5e-3 },
        });
        Assert.True(lstm.Metrics.Accuracy > 0.8, $"accuracy {lstm.Metrics.Accuracy}");
        Assert.Equal(4, lstm.Metrics.Epochs!.Count);
        Assert.Equal(["food", "sports", "tech"], lstm.Metrics.Classes);
    }

    [Fact]
    public void Binary_job_reports_auc_and_regression_reports_r2_and_mae()
    {
        using var dir = new Fixtures.TempDir();
        var ml = new MLContext(seed: 1);
        var pairs = TextData.Topics3(120, seed: 22).Select(r => (r.Text, Label: r.Label == "food" ? "yes" : "no"));
        string binCsv = WriteCsv(dir, "bin.csv", ["text,label", .. pairs.Select(p => $"{Quote(p.Text)},{p.Label}")]);
        var bin = TextTrainingJob.Run(ml, new TextJobOptions { Dataset = binCsv, LabelColumn = "label", TextColumns = ["text"], Encoder = "tfidf" });
        Assert.Equal("binary", bin.Metrics.Task);
        // One topic against the other two: words separate them, so a working AUC is far above chance (0.5).
        Assert.True(bin.Metrics.Auc > 0.9, $"AUC {bin.Metrics.Auc}");
        Assert.Equal(["no", "yes"], bin.Metrics.Classes);

        string regCsv = WriteCsv(dir, "reg.csv", ["text,count", .. TextData.CountGreat(120, seed: 23).Select(r => $"{Quote(r.Text)},{r.Label}")]);
        var reg = TextTrainingJob.Run(ml, new TextJobOptions { Dataset = regCsv, LabelColumn = "count", TextColumns = ["text"], Encoder = "tfidf", Task = TaskKind.Regression });
        Assert.Equal("regression", reg.Metrics.Task);
        // The label counts "great" (0-4, uniform): predicting the mean scores R² 0 and MAE 1.2.
        Assert.True(reg.Metrics.RSquared > 0.3, $"R² {reg.Metrics.RSquared}");
        Assert.True(reg.Metrics.Mae < 1.0, $"MAE {reg.Metrics.Mae}");
    }

    [Fact]
    public void Given_split_column_is_honoured()
    {
        using var dir = new Fixtures.TempDir();
        var rows = TextData.Topics3(90, seed: 24);
        string csv = WriteCsv(dir, "split.csv", ["text,label,split", .. rows.Select((r, i) => $"{Quote(r.Text)},{r.Label},{(i < 60 ? "train" : "test")}")]);
        var result = TextTrainingJob.Run(new MLContext(1), new TextJobOptions { Dataset = csv, LabelColumn = "label", TextColumns = ["text"], Encoder = "tfidf", SplitColumn = "split" });
        Assert.Equal(60, result.Metrics.Rows);
        Assert.Equal(30, result.Metrics.TestRows);
    }

    [Fact]
    public void Bad_csv_names_the_file_and_line_and_bad_columns_name_the_option()
    {
        using var dir = new Fixtures.TempDir();
        string bad = WriteCsv(dir, "bad.csv", ["text,label", "fine,a", "\"never closed,b", "x,c"]);
        var ex = Assert.Throws<CsvFormatException>(() => CsvTable.Load(bad));
        Assert.Equal(3, ex.Line);
        Assert.Contains("bad.csv", ex.Message);

        string ragged = WriteCsv(dir, "ragged.csv", ["text,label", "a,b", "a,b,c"]);
        Assert.Contains("line 3", Assert.Throws<CsvFormatException>(() => CsvTable.Load(ragged)).Message);

        string ok = WriteCsv(dir, "ok.csv", ["text,label", "a,b", "c,d"]);
        var missing = Assert.Throws<ArgumentException>(() => TextTrainingJob.Run(new MLContext(), new TextJobOptions { Dataset = ok, LabelColumn = "category", TextColumns = ["text"], Encoder = "tfidf" }));
        // The library names its own option property; the CLI says it as --label-col (CliOptionNames).
        Assert.Contains("TextJobOptions.LabelColumn 'category'", missing.Message);
        Assert.DoesNotContain("--", missing.Message);
        Assert.Contains("--label-col 'category'", MlNetLlm.Cli.Commands.CliOptionNames.ToFlags(missing.Message));
        Assert.Equal("Set only one of --keep, --keep-fraction and --threshold.",
            MlNetLlm.Cli.Commands.CliOptionNames.ToFlags("Set only one of Options.KeepCount, Options.KeepFraction and Options.ScoreThreshold."));
        Assert.Equal("Options.LocalPriorQueryPrefix and MyOptions.BatchSize", // other names that merely start or end alike stay
            MlNetLlm.Cli.Commands.CliOptionNames.ToFlags("Options.LocalPriorQueryPrefix and MyOptions.BatchSize"));
        Assert.Equal("--batch-size and --batch-size", // train's and select-features' own
            MlNetLlm.Cli.Commands.CliOptionNames.ToFlags("TextTrainerOptions.BatchSize and Options.BatchSize"));
    }

    [Fact]
    public void Lstm_embeddings_start_from_the_glove_vectors()
    {
        string glovePath = Path.Combine(Fixtures.Root, "glove", "topics-glove-100d.txt");
        var (glove, dim) = GloveVectors.Load(glovePath);
        Assert.Equal(100, dim);
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(TextData.Topics3(60, seed: 25));
        var o = new TextTrainerOptions
        {
            Encoder = TextEncoderKind.Lstm, GlovePath = glovePath, MinWordCount = 1, Epochs = 1, LearningRate = 1e-12, WeightDecay = 0,
            LstmHiddenSize = 16,
        };
        var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.TextClassifier(o)).Fit(data);
        var trained = model.LastTransformer;
        Assert.Equal(100, trained.Spec.Body.Lstm!.EmbeddingDim);
        var weights = trained.Model.state_dict()["body.embeddings.weight"];
        int pizza = trained.Tokenizer.TokenizeToIds("pizza").Single();
        var row = weights[pizza].data<float>().ToArray();
        Assert.Equal(glove["pizza"], row, new ToleranceComparer(1e-6f));
    }

    private sealed class ToleranceComparer(float tol) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tol;
        public int GetHashCode(float obj) => 0;
    }

    [Fact]
    public void Word_vector_baseline_uses_ml_net_apply_word_embedding_with_the_glove_file()
    {
        using var dir = new Fixtures.TempDir();
        string csv = WriteCsv(dir, "topics.csv", ["text,label", .. TextData.Topics3(90, seed: 26).Select(r => $"{Quote(r.Text)},{r.Label}")]);
        string glove = Path.Combine(Fixtures.Root, "glove", "topics-glove-100d.txt");
        var result = TextTrainingJob.Run(new MLContext(1), new TextJobOptions { Dataset = csv, LabelColumn = "label", TextColumns = ["text"], Encoder = "wordvec", GlovePath = glove });
        Assert.True(result.Metrics.Accuracy > 0.8, $"accuracy {result.Metrics.Accuracy}");
        var missing = Assert.Throws<ArgumentException>(() => TextTrainingJob.Run(new MLContext(1), new TextJobOptions { Dataset = csv, LabelColumn = "label", TextColumns = ["text"], Encoder = "wordvec" }));
        Assert.Contains("TextJobOptions.GlovePath", missing.Message);
        Assert.Contains("--glove", MlNetLlm.Cli.Commands.CliOptionNames.ToFlags(missing.Message));
    }

    [Fact]
    public void Glove_file_with_ragged_lines_names_the_line()
    {
        using var dir = new Fixtures.TempDir();
        string path = WriteCsv(dir, "glove.txt", ["cat 0.1 0.2 0.3", "dog 0.1 0.2"]);
        var ex = Assert.Throws<FormatException>(() => GloveVectors.Load(path));
        Assert.Contains("line 2", ex.Message);
    }
}
