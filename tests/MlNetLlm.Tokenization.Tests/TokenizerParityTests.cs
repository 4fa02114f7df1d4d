using Microsoft.ML;
using System.Text;
using System.Text.Json;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Tokenization;

namespace MlNetLlm.Tokenization.Tests;

/// <summary>
/// The project's tokenizers against Hugging Face's own Rust tokenizers library (Tokenizers.DotNet, test-only) on the
/// same vocabulary: thousands of real texts and adversarial ones, id for id.
/// </summary>
public class TokenizerParityTests
{
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
        using var hf = new Tokenizers.DotNet.Tokenizer(vocabPath: HuggingFaceFiles.WriteBertTokenizerJson(Fixtures.BertVocab, dir.File("tokenizer.json")));
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
        using var hf = new Tokenizers.DotNet.Tokenizer(vocabPath: HuggingFaceFiles.WriteBertTokenizerJson(Fixtures.BertVocab, dir.File("tokenizer.json"), lowerCase: false));
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
        string json = HuggingFaceFiles.WriteBertTokenizerJson(Path.Combine(bundled, "vocab.txt"), Path.Combine(folder, "tokenizer.json"));
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
