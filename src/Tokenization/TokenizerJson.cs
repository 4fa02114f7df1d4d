using System.Text.Json;

namespace MlNetLlm.Tokenization;

/// <summary>
/// Reads a Hugging Face fast-tokenizer file (<c>tokenizer.json</c>) into the matching tokenizer: a WordPiece model
/// with BertNormalizer + BertPreTokenizer (BERT, DistilBERT, MiniLM), a byte-level BPE model (RoBERTa, GPT-2 style),
/// or a Unigram model with Metaspace pre-tokenization (XLM-R and other SentencePiece conversions).
/// Anything else is an error that names the file and the part it cannot read.
/// </summary>
internal static class TokenizerJson
{
    public const string FileName = "tokenizer.json";

    public static TextTokenizer Load(string path, int modelMaxLength = 512) => Load(File.ReadAllBytes(path), path, modelMaxLength);

    /// <param name="path">How errors name the file (a path, or a model zip's entry).</param>
    public static TextTokenizer Load(byte[] json, string path, int modelMaxLength = 512)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"'{path}' is not valid JSON: {e.Message}", path, inner: e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
                throw new CheckpointException($"'{path}' has no \"model\" object: not a tokenizers file.", path);
            string type = Str(model, "type") ?? (model.TryGetProperty("merges", out _) ? "BPE" : model.TryGetProperty("vocab", out var v) && v.ValueKind == JsonValueKind.Object ? "WordPiece" : "?");
            var added = root.TryGetProperty("added_tokens", out var a) && a.ValueKind == JsonValueKind.Array
                ? a.EnumerateArray().Where(t => t.TryGetProperty("special", out var sp) && sp.ValueKind == JsonValueKind.True).Select(t => Str(t, "content")!).Where(t => t is not null).ToList()
                : [];
            var (cls, sep) = PostProcessorTokens(root);
            return type switch
            {
                "WordPiece" => WordPiece(path, root, model, added, cls, sep, modelMaxLength),
                "BPE" => ByteLevelBpe(path, root, model, added, cls, sep, modelMaxLength),
                "Unigram" => UnigramJson.Read(path, root, model, cls, sep, PairLayout(root), modelMaxLength),
                _ => throw new CheckpointException(
                    $"'{path}' has a {type} model; tokenizer.json is read for WordPiece, byte-level BPE and Unigram models.", path),
            };
        }
    }

    private static WordPieceTextTokenizer WordPiece(string path, JsonElement root, JsonElement model, List<string> added, string? cls, string? sep, int maxLength)
    {
        var vocab = model.GetProperty("vocab").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32(), StringComparer.Ordinal);
        var normalizer = root.TryGetProperty("normalizer", out var n) ? Find(n, "BertNormalizer") : null;
        if (normalizer is null && root.TryGetProperty("normalizer", out var other) && other.ValueKind != JsonValueKind.Null)
            throw new CheckpointException($"'{path}': WordPiece with normalizer \"{Str(other, "type")}\" is not supported (BertNormalizer is).", path);
        if (root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind != JsonValueKind.Null && Find(pre, "BertPreTokenizer") is null)
            throw new CheckpointException($"'{path}': WordPiece with pre_tokenizer \"{Str(pre, "type")}\" is not supported (BertPreTokenizer is).", path);
        bool lower = normalizer is { } bn && bn.TryGetProperty("lowercase", out var l) ? l.ValueKind == JsonValueKind.True : normalizer is not null;
        bool? strip = normalizer is { } bs && bs.TryGetProperty("strip_accents", out var st) && st.ValueKind is JsonValueKind.True or JsonValueKind.False ? st.GetBoolean() : null;
        bool chinese = normalizer is not { } bc || !bc.TryGetProperty("handle_chinese_chars", out var hc) || hc.ValueKind != JsonValueKind.False;
        bool clean = normalizer is not { } bk || !bk.TryGetProperty("clean_text", out var ct) || ct.ValueKind != JsonValueKind.False;
        string unk = Str(model, "unk_token") ?? "[UNK]";
        var specials = new TokenizerSpecialTokens(cls ?? "[CLS]", sep ?? "[SEP]", added.FirstOrDefault(t => t.Contains("PAD", StringComparison.OrdinalIgnoreCase)) ?? "[PAD]", unk,
            added.FirstOrDefault(t => t.Contains("MASK", StringComparison.OrdinalIgnoreCase)) ?? "[MASK]");
        try
        {
            return WordPieceTextTokenizer.Create(vocab, new BertBasicTokenizer(lower, strip, chinese, clean), maxLength, specials,
                Str(model, "continuing_subword_prefix") ?? "##", model.TryGetProperty("max_input_chars_per_word", out var m) ? m.GetInt32() : 100, added);
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointException($"'{path}': {e.Message}", path, inner: e);
        }
    }

    private static ByteLevelBpeTextTokenizer ByteLevelBpe(string path, JsonElement root, JsonElement model, List<string> added, string? cls, string? sep, int maxLength)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || Find(pre, "ByteLevel") is null)
            throw new CheckpointException($"'{path}': only byte-level BPE (pre_tokenizer ByteLevel) is supported.", path);
        // Merges are "a b" strings or [a, b] pairs.
        try
        {
            var vocab = model.GetProperty("vocab").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32(), StringComparer.Ordinal);
            var merges = model.GetProperty("merges").EnumerateArray()
                .Select(m => m.ValueKind == JsonValueKind.Array ? string.Join(' ', m.EnumerateArray().Select(x => x.GetString())) : m.GetString()!).ToList();
            var specials = new TokenizerSpecialTokens(cls ?? "<s>", sep ?? "</s>", added.FirstOrDefault(t => t.Contains("pad")) ?? "<pad>", added.FirstOrDefault(t => t.Contains("unk")) ?? "<unk>");
            return ByteLevelBpeTextTokenizer.Create(vocab, merges, path, maxLength, specials);
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointException($"'{path}': {e.Message}", path, inner: e);
        }
    }

    /// <summary>The start and separator tokens of BertProcessing / RobertaProcessing / TemplateProcessing.</summary>
    private static (string? Cls, string? Sep) PostProcessorTokens(JsonElement root)
    {
        if (!root.TryGetProperty("post_processor", out var post) ||
            (Find(post, "TemplateProcessing") ?? Find(post, "BertProcessing") ?? Find(post, "RobertaProcessing")) is not { } p) return (null, null);
        if (p.TryGetProperty("cls", out var c) && p.TryGetProperty("sep", out var s) && c.ValueKind == JsonValueKind.Array)
            return (c[0].GetString(), s[0].GetString());
        if (p.TryGetProperty("single", out var single) && single.ValueKind == JsonValueKind.Array)
        {
            var tokens = single.EnumerateArray().Where(x => x.TryGetProperty("SpecialToken", out _)).Select(x => x.GetProperty("SpecialToken").GetProperty("id").GetString()).ToList();
            if (tokens.Count >= 2) return (tokens[0], tokens[^1]);
        }
        return (null, null);
    }

    /// <summary>RoBERTa's pair layout (two separators between the texts) or BERT's (one, token types 0 then 1).</summary>
    private static SpecialTokenLayout PairLayout(JsonElement root)
    {
        if (root.TryGetProperty("post_processor", out var post) && Find(post, "TemplateProcessing") is { } t
            && t.TryGetProperty("pair", out var pair) && pair.ValueKind == JsonValueKind.Array)
        {
            var items = pair.EnumerateArray().Select(x => x.TryGetProperty("Sequence", out var q) ? "$" + q.GetProperty("id").GetString() : "special").ToList();
            int a = items.IndexOf("$A"), b = items.IndexOf("$B");
            if (a >= 0 && b > a) return b - a - 1 >= 2 ? SpecialTokenLayout.Roberta : SpecialTokenLayout.Bert;
        }
        return root.TryGetProperty("post_processor", out var p) && Find(p, "RobertaProcessing") is not null ? SpecialTokenLayout.Roberta : SpecialTokenLayout.Bert;
    }

    /// <summary>The component of type <paramref name="type"/>, itself or inside a Sequence.</summary>
    internal static JsonElement? Find(JsonElement e, string type)
    {
        if (e.ValueKind != JsonValueKind.Object) return null;
        if (Str(e, "type") == type) return e;
        foreach (var key in new[] { "normalizers", "pretokenizers", "processors" })
            if (e.TryGetProperty(key, out var list) && list.ValueKind == JsonValueKind.Array)
                foreach (var item in list.EnumerateArray())
                    if (Find(item, type) is { } found) return found;
        return null;
    }

    internal static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
