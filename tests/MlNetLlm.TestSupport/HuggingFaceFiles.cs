using System.Text.Json;

namespace MlNetLlm.TestSupport;

/// <summary>Files in Hugging Face's formats, written for the reference libraries the tests compare against.</summary>
public static class HuggingFaceFiles
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
}
