using System.Text.Json;
using Microsoft.ML;
using MlNetLlm.Tokenization;

namespace MlNetLlm.Cli.Tests;

/// <summary>The tokenizer a model is trained with is the one it is scored with, stored in its zip; what the CLI shows.</summary>
public class TokenizationInModelsTests
{
    private static void RunCli(params string[] args)
    {
        var (code, output) = TestProcesses.RunCli(args);
        Assert.True(code == 0, $"mlnet-llm {string.Join(' ', args)} failed ({code}): {output}");
    }

    [Fact]
    public void Tokenize_command_writes_hugging_face_ids_in_a_fresh_process()
    {
        using var dir = new Fixtures.TempDir();
        string csv = dir.File("t.csv");
        File.WriteAllLines(csv, ["id,text", "1,\"price: $5 + tax\"", "2,\"line one\nline two\"", "3,I <3 this 😀", "4,"]);
        RunCli("tokenize", "--model", "minilm", "--dataset", csv, "--text-col", "text", "--output", dir.File("ids.txt"));
        var lines = File.ReadAllLines(dir.File("ids.txt"));
        using var hf = new Tokenizers.DotNet.Tokenizer(vocabPath: HuggingFaceFiles.WriteBertTokenizerJson(Fixtures.BertVocab, dir.File("tokenizer.json")));
        string[] texts = ["price: $5 + tax", "line one\nline two", "I <3 this 😀", ""];
        Assert.Equal(texts.Select(t => string.Join(' ', hf.Encode(t))), lines);
        Assert.Equal("101 102", lines[3]); // an empty text is its special tokens

        RunCli("tokenize", "--model", "minilm", "--dataset", csv, "--text-col", "text", "--output", dir.File("ids.jsonl"), "--max-length", "5");
        using var first = JsonDocument.Parse(File.ReadLines(dir.File("ids.jsonl")).First());
        Assert.Equal(["[CLS]", "price", ":", "$", "[SEP]"], first.RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public void A_zip_saved_before_parity_scores_with_its_old_tokenization_and_a_new_one_with_hugging_face_ids()
    {
        using var dir = new Fixtures.TempDir();
        var ml = new Microsoft.ML.MLContext(1);
        var rows = TextData.Topics3(60, seed: 3);
        var data = ml.Data.LoadFromEnumerable(rows);
        var options = new MlNetLlm.Estimators.TextTrainerOptions { TextColumnName = "Text", Encoder = MlNetLlm.Modeling.Training.TextEncoderKind.Lstm, Epochs = 1, MaxLength = 32 };
        var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(MlNetLlm.Estimators.TextCatalog.TextClassifier(ml.MulticlassClassification.Trainers, options)).Fit(data);
        string zip = dir.File("model.zip");
        ml.Model.Save(model, data.Schema, zip);
        Assert.IsType<WordPieceTextTokenizer>(Classifier(new Microsoft.ML.MLContext().Model.Load(zip, out _)).Tokenizer);

        // The same zip as an earlier version wrote it: no "Tokenization" in the encoder spec (and no entry checksums).
        using (var archive = System.IO.Compression.ZipFile.Open(zip, System.IO.Compression.ZipArchiveMode.Update))
        {
            foreach (var sum in archive.Entries.Where(e => e.FullName.EndsWith(".sha256")).ToList()) sum.Delete();
            var entry = archive.Entries.Single(e => e.FullName.EndsWith("spec.json"));
            string spec;
            using (var r = new StreamReader(entry.Open())) spec = r.ReadToEnd();
            var node = System.Text.Json.Nodes.JsonNode.Parse(spec)!;
            Assert.NotNull(node["Body"]!["Tokenization"]);
            node["Body"]!.AsObject().Remove("Tokenization");
            entry.Delete();
            using var w = new StreamWriter(archive.CreateEntry(entry.FullName).Open());
            w.Write(node.ToJsonString());
        }
        Assert.IsType<LegacyWordPieceTextTokenizer>(Classifier(new Microsoft.ML.MLContext().Model.Load(zip, out _)).Tokenizer);
    }

    private static MlNetLlm.Estimators.TextPredictionTransformer Classifier(Microsoft.ML.ITransformer t) =>
        ((IEnumerable<Microsoft.ML.ITransformer>)t).OfType<MlNetLlm.Estimators.TextPredictionTransformer>().Single();
}
