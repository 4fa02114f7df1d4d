using Microsoft.ML;
using System.Text;
using System.Text.Json;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Tokenization;

namespace MlNetLlm.Tests;

/// <summary>
/// The project's tokenizers against Hugging Face's own Rust tokenizers library (Tokenizers.DotNet, test-only) on the
/// same vocabulary: thousands of real texts and adversarial ones, id for id.
/// </summary>
public class TokenizerParityTests
{
    /// <summary>A standard bert-base-uncased tokenizer.json (what BertTokenizerFast.save_pretrained writes) for a vocab.txt.</summary>
    public static string WriteBertTokenizerJson(string vocabPath, string path, bool lowerCase = true)
    {
        var lines = File.ReadAllLines(vocabPath);
        var vocab = new Dictionary<string, int>();
        for (int i = 0; i < lines.Length; i++) vocab[lines[i]] = i;
        object Added(string t) => new { id = vocab[t], content = t, single_word = false, lstrip = false, rstrip = false, normalized = false, special = true };
        object Special(string t, int type) => new { SpecialToken = new { id = t, type_id = type } };
        object Seq(string s, int type) => new { Sequence = new { id = s, type_id = type } };
        var json = new
        {
            version = "1.0",
            truncation = (object?)null,
            padding = (object?)null,
            added_tokens = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Select(Added).ToArray(),
            normalizer = new { type = "BertNormalizer", clean_text = true, handle_chinese_chars = true, strip_accents = (bool?)null, lowercase = lowerCase },
            pre_tokenizer = new { type = "BertPreTokenizer" },
            post_processor = new
            {
                type = "TemplateProcessing",
                single = new[] { Special("[CLS]", 0), Seq("A", 0), Special("[SEP]", 0) },
                pair = new[] { Special("[CLS]", 0), Seq("A", 0), Special("[SEP]", 0), Seq("B", 1), Special("[SEP]", 1) },
                special_tokens = new Dictionary<string, object>
                {
                    ["[CLS]"] = new { id = "[CLS]", ids = new[] { vocab["[CLS]"] }, tokens = new[] { "[CLS]" } },
                    ["[SEP]"] = new { id = "[SEP]", ids = new[] { vocab["[SEP]"] }, tokens = new[] { "[SEP]" } },
                },
            },
            decoder = new { type = "WordPiece", prefix = "##", cleanup = true },
            model = new { type = "WordPiece", unk_token = "[UNK]", continuing_subword_prefix = "##", max_input_chars_per_word = 100, vocab },
        };
        File.WriteAllText(path, JsonSerializer.Serialize(json));
        return path;
    }

    /// <summary>Texts nobody chose for this test: the bundled Amazon reviews and Debian fortunes.</summary>
    public static List<string> RealTexts(int fortunes)
    {
        var amazon = CsvTable.Load(Path.Combine(Fixtures.Root, "data", "amazon_fine_foods.csv"));
        var fortune = CsvTable.Load(Path.Combine(Fixtures.Root, "data", "debian_fortunes.csv"));
        return [.. amazon.Column(amazon.Header[amazon.ColumnIndex("review", "review")]), .. fortune.Column(fortune.Header[fortune.ColumnIndex("text", "text")]).Take(fortunes)];
    }

    /// <summary>Inputs that break naive tokenizers: symbols, emoji, controls, CJK, accents, very long words, empty.</summary>
    public static List<string> AdversarialTexts()
    {
        var list = new List<string>
        {
            "", " ", "\n", "\t\t", "price: $5 + tax", "line one\nline two", "I <3 this 😀", "a\tb\rc\r\nd", "x^2 = y | z ~ w `code`",
            "° © € £ ¥ § ¶ • … ‰ ™", "Ünïcödé àccénts: café naïve façade Ångström", "İstanbul ǅemal ß ẞ ﬁ ﬀ", "日本語のテキストと中文字符 한국어",
            "𠀀𠀁 𪜀 𫝀 𫠠 𬺰 丽", "emoji 👍🏽👨‍👩‍👧 🇩🇪 🥰 🫠", "zero\u200bwidth\u200djoiner\ufeffbom", "nul\0char and \ufffd replacement", "\u0085next line\u2028sep\u2029para\u00a0nbsp\u3000ideo",
            "control \u0001\u0007\u001b[31m red \u007f", "Mixed CASE WoRdS and ALLCAPS", "hello [SEP] world [CLS][MASK] [unk] [UNK]", "e-mail: john.doe@example.com, http://x.y/z?q=1&r=2#frag",
            "C:\\path\\to\\file.txt && rm -rf / ; echo \"quoted\" 'single'", "«guillemets» „low“ ‘curly’ — dash – en ‐ hyphen", "١٢٣ ٤٥٦ العربية עברית", "combining e\u0301 a\u0308 o\u0303",
            "private \ue000\uf8ff use", "tabs\tand  double  spaces   ", "wordwithoutspaces" + new string('a', 90), "𝐁𝐨𝐥𝐝 𝔉𝔯𝔞𝔨𝔱𝔲𝔯 ℌ", "fullwidth ＡＢＣ１２３！",
        };
        list.Add(new string('x', 10_000));
        list.Add(string.Concat(Enumerable.Repeat("supercalifragilistic", 6)));  // 120 characters: one [UNK]
        list.Add(string.Concat(Enumerable.Repeat("ab", 50)));                   // exactly 100 characters: split into pieces
        list.Add(string.Join(' ', Enumerable.Range(0, 2000).Select(i => $"w{i}")));
        var rng = new Random(5);
        for (int k = 0; k < 200; k++) // random code points from every plane in use, surrogate pairs included
        {
            var sb = new StringBuilder();
            for (int j = 0; j < 20; j++)
            {
                int cp = rng.Next(4) switch { 0 => rng.Next(0x20, 0x7F), 1 => rng.Next(0xA0, 0x3000), 2 => rng.Next(0x3000, 0xD7FF), _ => rng.Next(0x10000, 0x2FFFF) };
                if (Rune.IsValid(cp)) sb.Append(new Rune(cp).ToString());
                if (rng.Next(5) == 0) sb.Append(' ');
            }
            list.Add(sb.ToString());
        }
        return list;
    }

    internal static (int Count, List<string> Examples) Differences(TextTokenizer ours, Tokenizers.DotNet.Tokenizer hf, IEnumerable<string> texts)
    {
        int count = 0;
        var examples = new List<string>();
        foreach (var text in texts)
        {
            int[] mine = ours.EncodeAll(text).InputIds;
            int[] theirs = hf.Encode(text).Select(i => (int)i).ToArray();
            if (mine.SequenceEqual(theirs)) continue;
            count++;
            if (examples.Count < 5)
                examples.Add($"{JsonSerializer.Serialize(text.Length > 80 ? text[..80] : text)}: ours [{string.Join(' ', mine.Take(30))}] HF [{string.Join(' ', theirs.Take(30))}]");
        }
        return (count, examples);
    }

    [Fact]
    public void WordPiece_matches_hugging_face_tokenizers_on_real_and_adversarial_texts()
    {
        using var dir = new Fixtures.TempDir();
        using var hf = new Tokenizers.DotNet.Tokenizer(vocabPath: WriteBertTokenizerJson(Fixtures.BertVocab, dir.File("tokenizer.json")));
        var ours = WordPieceTextTokenizer.Create(Fixtures.BertVocab, lowerCase: true);
        var real = RealTexts(fortunes: 3000);
        Assert.True(real.Count >= 5000);
        var (n, examples) = Differences(ours, hf, real.Concat(AdversarialTexts()));
        Assert.True(n == 0, $"{n} texts tokenized differently from Hugging Face, e.g.\n{string.Join("\n", examples)}");

        // The same texts through Microsoft.ML.Tokenizers' BertTokenizer alone (the pre-parity path) do differ: the check can fail.
        var legacy = LegacyWordPieceTextTokenizer.Create(Fixtures.BertVocab, lowerCase: true);
        Assert.True(Differences(legacy, hf, real.Take(2000)).Count > 50);
    }

    [Fact]
    public void The_committed_character_table_is_what_hugging_face_tokenizers_does_today()
    {
        // Every code point probed again: a newer Tokenizers.DotNet or .NET Unicode data shows up here first.
        using var dir = new Fixtures.TempDir();
        var probed = HuggingFaceCharProbe.Differences(dir.Path);
        Assert.Equal(probed, HuggingFaceCharClasses.Ranges);
        Assert.Contains(HuggingFaceCharClasses.Ranges, r => r.Start <= 0x378 && 0x378 <= r.End && r.Class == BertBasicTokenizer.CharClass.Letter); // unassigned: kept
    }

    [Fact]
    public void Cased_wordpiece_matches_hugging_face_tokenizers()
    {
        using var dir = new Fixtures.TempDir();
        using var hf = new Tokenizers.DotNet.Tokenizer(vocabPath: WriteBertTokenizerJson(Fixtures.BertVocab, dir.File("tokenizer.json"), lowerCase: false));
        var ours = WordPieceTextTokenizer.Create(Fixtures.BertVocab, lowerCase: false);
        var (n, examples) = Differences(ours, hf, RealTexts(fortunes: 500).Take(1500).Concat(AdversarialTexts()));
        Assert.True(n == 0, $"{n} texts tokenized differently from Hugging Face (cased), e.g.\n{string.Join("\n", examples)}");
    }

    /// <summary>A RoBERTa tokenizer.json (byte-level BPE) for a vocab.json + merges.txt pair.</summary>
    public static string WriteRobertaTokenizerJson(string folder, string path)
    {
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Path.Combine(folder, "vocab.json")))!;
        var merges = File.ReadAllLines(Path.Combine(folder, "merges.txt")).Where(l => l.Length > 0 && !l.StartsWith("#version")).ToArray();
        object Added(string t) => new { id = vocab[t], content = t, single_word = false, lstrip = t == "<mask>", rstrip = false, normalized = false, special = true };
        var json = new
        {
            version = "1.0",
            truncation = (object?)null,
            padding = (object?)null,
            added_tokens = new[] { "<s>", "<pad>", "</s>", "<unk>" }.Where(vocab.ContainsKey).Select(Added).ToArray(),
            normalizer = (object?)null,
            pre_tokenizer = new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = true },
            post_processor = new { type = "RobertaProcessing", sep = new object[] { "</s>", vocab["</s>"] }, cls = new object[] { "<s>", vocab["<s>"] }, trim_offsets = true, add_prefix_space = false },
            decoder = new { type = "ByteLevel", add_prefix_space = true, trim_offsets = true, use_regex = true },
            model = new { type = "BPE", dropout = (object?)null, unk_token = (string?)null, continuing_subword_prefix = "", end_of_word_suffix = "", fuse_unk = false, byte_fallback = false, vocab, merges },
        };
        File.WriteAllText(path, JsonSerializer.Serialize(json));
        return path;
    }

    [Fact]
    public void Byte_level_bpe_matches_hugging_face_tokenizers_and_loads_from_tokenizer_json()
    {
        using var dir = new Fixtures.TempDir();
        string fixture = Fixtures.Checkpoint("tiny-roberta");
        string json = WriteRobertaTokenizerJson(fixture, dir.File("tokenizer.json"));
        using var hf = new Tokenizers.DotNet.Tokenizer(vocabPath: json);
        var ours = ByteLevelBpeTextTokenizer.Create(Path.Combine(fixture, "vocab.json"), Path.Combine(fixture, "merges.txt"));
        var texts = RealTexts(fortunes: 500).Take(1500).Concat(AdversarialTexts().Where(t => !t.Contains('\0'))).ToList();
        var (n, examples) = Differences(ours, hf, texts);
        Assert.True(n == 0, $"{n} texts tokenized differently from Hugging Face (byte-level BPE), e.g.\n{string.Join("\n", examples)}");
        var fromJson = TokenizerJson.Load(json);
        Assert.IsType<ByteLevelBpeTextTokenizer>(fromJson);
        Assert.Equal(0, Differences(fromJson, hf, texts.Take(300)).Count);
    }

    [Fact]
    public void A_checkpoint_with_only_tokenizer_json_loads_and_gives_hugging_face_ids()
    {
        using var dir = new Fixtures.TempDir();
        string bundled = MlNetLlm.Modeling.Checkpoints.CheckpointLocator.Resolve("minilm");
        string folder = Directory.CreateDirectory(dir.File("fast-only")).FullName;
        foreach (var f in new[] { "config.json", "model.safetensors" }) File.Copy(Path.Combine(bundled, f), Path.Combine(folder, f));
        string json = WriteBertTokenizerJson(Path.Combine(bundled, "vocab.txt"), Path.Combine(folder, "tokenizer.json"));
        using var model = MlNetLlm.Modeling.PretrainedTransformer.Load(folder);
        Assert.IsType<WordPieceTextTokenizer>(model.Tokenizer);
        using var hf = new Tokenizers.DotNet.Tokenizer(vocabPath: json);
        var (n, examples) = Differences(model.Tokenizer, hf, RealTexts(fortunes: 200).Take(1000).Concat(AdversarialTexts()));
        Assert.True(n == 0, $"{n} differences, e.g.\n{string.Join("\n", examples)}");

        // Models this project does not run (WordLevel here) are refused by name, not misread.
        string wordLevel = dir.File("wordlevel.json");
        File.WriteAllText(wordLevel, """{"model": {"type": "WordLevel", "vocab": {"<unk>": 0}, "unk_token": "<unk>"}}""");
        var e = Assert.Throws<MlNetLlm.Tokenization.CheckpointException>(() => TokenizerJson.Load(wordLevel));
        Assert.Contains("WordLevel", e.Message);
        Assert.Contains("wordlevel.json", e.Message);
    }
}

/// <summary>The tokenizer a model is trained with is the one it is scored with, stored in its zip; what the CLI shows.</summary>
public class TokenizationInModelsTests
{
    private static void RunCli(params string[] args)
    {
        var (code, output) = Program.RunCli(args);
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
        using var hf = new Tokenizers.DotNet.Tokenizer(vocabPath: TokenizerParityTests.WriteBertTokenizerJson(Fixtures.BertVocab, dir.File("tokenizer.json")));
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
