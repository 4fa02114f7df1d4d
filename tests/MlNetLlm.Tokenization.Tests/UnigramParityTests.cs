using System.Text.Json;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Tokenization;

namespace MlNetLlm.Tokenization.Tests;

/// <summary>
/// XLM-R's Unigram SentencePiece model against Hugging Face's Rust tokenizers library: the tokenizer.json that
/// transformers' XLMRobertaConverter writes for the fixture's sentencepiece.bpe.model, run by the Rust library, id for id
/// against the project's tokenizer read from that tokenizer.json and from the .model file alone.
/// </summary>
public class UnigramParityTests
{
    private static string UnigramModel => Path.Combine(Fixtures.Root, "tokenizers", "xlmr-unigram", "sentencepiece.bpe.model");

    /// <summary>What XLMRobertaTokenizerFast.save_pretrained writes for a sentencepiece.bpe.model (transformers'
    /// XLMRobertaConverter: fairseq ids, normalizer Precompiled + Strip right + " {2,}" → ▁, Metaspace always).</summary>
    public static string WriteXlmRobertaTokenizerJson(string modelPath, string path)
    {
        var spm = SentencePieceModelFile.Read(modelPath);
        var vocab = new List<object[]> { new object[] { "<s>", 0.0 }, new object[] { "<pad>", 0.0 }, new object[] { "</s>", 0.0 }, new object[] { "<unk>", 0.0 } };
        vocab.AddRange(spm.Pieces.Skip(3).Select(p => new object[] { p.Text, (double)p.Score }));
        vocab.Add(["<mask>", 0.0]);
        int mask = vocab.Count - 1;
        object Added(string t, int id) => new { id, content = t, single_word = false, lstrip = t == "<mask>", rstrip = false, normalized = false, special = true };
        object Special(string t) => new { SpecialToken = new { id = t, type_id = 0 } };
        object Seq(string s) => new { Sequence = new { id = s, type_id = 0 } };
        var json = new
        {
            version = "1.0",
            truncation = (object?)null,
            padding = (object?)null,
            added_tokens = new[] { Added("<s>", 0), Added("<pad>", 1), Added("</s>", 2), Added("<unk>", 3), Added("<mask>", mask) },
            normalizer = new
            {
                type = "Sequence",
                normalizers = new object[]
                {
                    new { type = "Precompiled", precompiled_charsmap = Convert.ToBase64String(spm.PrecompiledCharsMap) },
                    new { type = "Strip", strip_left = false, strip_right = true },
                    new { type = "Replace", pattern = new { Regex = " {2,}" }, content = "\u2581" },
                },
            },
            pre_tokenizer = new { type = "Metaspace", replacement = "\u2581", prepend_scheme = "always", split = true },
            post_processor = new
            {
                type = "TemplateProcessing",
                single = new[] { Special("<s>"), Seq("A"), Special("</s>") },
                pair = new[] { Special("<s>"), Seq("A"), Special("</s>"), Special("</s>"), Seq("B"), Special("</s>") },
                special_tokens = new Dictionary<string, object>
                {
                    ["<s>"] = new { id = "<s>", ids = new[] { 0 }, tokens = new[] { "<s>" } },
                    ["</s>"] = new { id = "</s>", ids = new[] { 2 }, tokens = new[] { "</s>" } },
                },
            },
            decoder = new { type = "Metaspace", replacement = "\u2581", prepend_scheme = "always", split = true },
            model = new { type = "Unigram", unk_id = 3, vocab, byte_fallback = false },
        };
        File.WriteAllText(path, JsonSerializer.Serialize(json));
        return path;
    }

    /// <summary>Real texts, the adversarial set, and the multilingual fixture texts with XLM-R's own special tokens.</summary>
    private static List<string> Texts(int fortunes)
    {
        var texts = TokenizerParityTests.RealTexts(fortunes);
        texts.AddRange(TokenizerParityTests.AdversarialTexts());
        texts.AddRange([
            "Héllo World!", "Привет, мир! Добрый день.", "你好世界。今天天气很好。", "  leading and   inner spaces ", "a <mask> b<mask>c <s></s> <unk> <pad>",
            "  <mask>  spaces around  ", "trailing\u3000ideographic\u3000", "ｆｕｌｌｗｉｄｔｈ and ﬁ ligature ①②", "Ça va? Ήλιος 𝓗𝓮𝓵𝓵𝓸",
        ]);
        return texts;
    }

    [Fact]
    public void Unigram_tokenizer_json_matches_hugging_face_tokenizers_on_real_and_adversarial_texts()
    {
        using var dir = new Fixtures.TempDir();
        string json = WriteXlmRobertaTokenizerJson(UnigramModel, dir.File("tokenizer.json"));
        using var hf = new Tokenizers.DotNet.Tokenizer(vocabPath: json);
        var ours = TokenizerJson.Load(json);
        Assert.IsType<UnigramTextTokenizer>(ours);
        var texts = Texts(fortunes: 3000);
        Assert.True(texts.Count >= 5000);
        var (n, examples) = TokenizerParityTests.Differences(ours, hf, texts);
        Assert.True(n == 0, $"{n} texts tokenized differently from Hugging Face (Unigram), e.g.\n{string.Join("\n", examples)}");
    }

    [Fact]
    public void An_xlm_roberta_folder_with_only_the_sentencepiece_model_gives_the_fast_tokenizers_ids()
    {
        using var dir = new Fixtures.TempDir();
        string folder = Directory.CreateDirectory(dir.File("xlmr")).FullName;
        File.Copy(Path.Combine(Fixtures.Checkpoint("tiny-xlmr"), "config.json"), Path.Combine(folder, "config.json"));
        File.Copy(UnigramModel, Path.Combine(folder, "sentencepiece.bpe.model"));
        var config = TransformerConfig.Load(Path.Combine(folder, "config.json"));
        using var hf = new Tokenizers.DotNet.Tokenizer(vocabPath: WriteXlmRobertaTokenizerJson(UnigramModel, dir.File("tokenizer.json")));
        var texts = Texts(fortunes: 500);

        var ours = TokenizerLoader.Load(folder, config);
        Assert.IsType<UnigramTextTokenizer>(ours);
        var (n, examples) = TokenizerParityTests.Differences(ours, hf, texts);
        Assert.True(n == 0, $"{n} texts tokenized differently from Hugging Face (XLM-R from sentencepiece.bpe.model), e.g.\n{string.Join("\n", examples)}");

        // Models saved before Unigram parity keep Microsoft.ML.Tokenizers' SentencePiece, which does differ: the check can fail.
        var older = TokenizerLoader.Load(folder, config, TokenizerGeneration.HuggingFaceWordPiece);
        Assert.IsType<XlmRobertaTextTokenizer>(older);
        Assert.True(TokenizerParityTests.Differences(older, hf, texts).Count > 0);
    }

    [Fact]
    public void The_unigram_tokenizer_gives_the_sentencepiece_library_ids_on_its_fixture()
    {
        // expected.json: Google's sentencepiece on the same model (tests/reference/make_unigram_fixture.py), a second reference.
        var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.Root, "tokenizers", "xlmr-unigram", "expected.json"))).RootElement;
        var ours = UnigramTextTokenizer.FromXlmRobertaModel(SentencePieceModelFile.Read(UnigramModel), 512);
        var texts = expected.GetProperty("texts").EnumerateArray().Select(t => t.GetString()!).ToList();
        var ids = expected.GetProperty("expected_ids").EnumerateArray().Select(a => a.EnumerateArray().Select(x => x.GetInt32()).ToArray()).ToList();
        for (int i = 0; i < texts.Count; i++) Assert.Equal(ids[i], ours.Encode(texts[i]).InputIds);
    }

    [Fact]
    public void Damaged_sentencepiece_models_and_unsupported_unigram_parts_fail_by_name()
    {
        using var dir = new Fixtures.TempDir();
        string bad = dir.File("sentencepiece.bpe.model");
        File.WriteAllBytes(bad, File.ReadAllBytes(UnigramModel)[..1000]);
        var e = Assert.ThrowsAny<InvalidDataException>(() => SentencePieceModelFile.Read(bad));
        Assert.Contains("sentencepiece.bpe.model", e.Message);

        string json = WriteXlmRobertaTokenizerJson(UnigramModel, dir.File("tokenizer.json"));
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(json))!;
        node["model"]!["byte_fallback"] = true;
        File.WriteAllText(json, node.ToJsonString());
        var c = Assert.Throws<CheckpointException>(() => TokenizerJson.Load(json));
        Assert.Contains("byte_fallback", c.Message);
        node["model"]!["byte_fallback"] = false;
        node["normalizer"] = System.Text.Json.Nodes.JsonNode.Parse("""{"type": "BertNormalizer"}""");
        File.WriteAllText(json, node.ToJsonString());
        c = Assert.Throws<CheckpointException>(() => TokenizerJson.Load(json));
        Assert.Contains("BertNormalizer", c.Message);
    }
}
