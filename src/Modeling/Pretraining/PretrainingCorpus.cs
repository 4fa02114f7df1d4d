using System.Security.Cryptography;
using System.Text.Json;
using MlNetLlm.Tokenization;

namespace MlNetLlm.Modeling.Pretraining;

/// <summary>
/// Unlabeled texts as token sequences for masked-LM training: each text is tokenized and, when longer than
/// MaxLength, cut into consecutive pieces, each wrapped in the model's special tokens (start ... separator), so
/// nothing is thrown away by truncation. Texts are never joined across (dynamic padding and length bucketing keep
/// the short ones cheap). Empty texts, and pieces where masking could choose nothing (all [UNK]), are left out.
/// </summary>
internal sealed class PretrainingCorpus
{
    private PretrainingCorpus(List<EncodedText> sequences, int texts, int skipped, string fingerprint)
    {
        Sequences = sequences;
        Texts = texts;
        SkippedTexts = skipped;
        Fingerprint = fingerprint;
    }

    public IReadOnlyList<EncodedText> Sequences { get; }
    /// <summary>Texts given.</summary>
    public int Texts { get; }
    /// <summary>Texts that gave no sequence (empty, or nothing maskable).</summary>
    public int SkippedTexts { get; }
    public long Tokens => Sequences.Sum(s => (long)s.Length);
    /// <summary>SHA-256 of the token ids: a resumed run checks it reads the same data.</summary>
    public string Fingerprint { get; }

    public static PretrainingCorpus Build(TextTokenizer tokenizer, IReadOnlyList<string> texts, int maxLength, TokenMasker masker)
    {
        int body = Math.Min(maxLength, tokenizer.ModelMaxLength) - 2;
        var pieces = texts.AsParallel().AsOrdered().Select(t => Pieces(tokenizer, t ?? "", body, masker)).ToList();
        var sequences = pieces.SelectMany(p => p).ToList();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var s in sequences)
        {
            sha.AppendData(BitConverter.GetBytes(s.Length));
            foreach (int id in s.InputIds) sha.AppendData(BitConverter.GetBytes(id));
        }
        return new PretrainingCorpus(sequences, texts.Count, pieces.Count(p => p.Count == 0), Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant());
    }

    private static List<EncodedText> Pieces(TextTokenizer tokenizer, string text, int body, TokenMasker masker)
    {
        var ids = tokenizer.TokenizeToIds(text);
        var result = new List<EncodedText>();
        for (int start = 0; start < ids.Count; start += body)
        {
            int n = Math.Min(body, ids.Count - start);
            var seq = new int[n + 2];
            seq[0] = tokenizer.Special.Start;
            for (int i = 0; i < n; i++) seq[i + 1] = ids[start + i];
            seq[^1] = tokenizer.Special.Separator;
            if (masker.HasMaskable(seq)) result.Add(new EncodedText(seq, new int[seq.Length]));
        }
        return result;
    }

    /// <summary>A seeded split of <paramref name="texts"/> into (train, validation) texts; fraction 0 gives no validation texts.</summary>
    public static (List<string> Train, List<string> Validation) SplitTexts(IReadOnlyList<string> texts, double fraction, int seed)
    {
        var order = Enumerable.Range(0, texts.Count).ToArray();
        new Random(seed * 31 + 7).Shuffle(order);
        int n = (int)Math.Round(texts.Count * fraction);
        var validation = order.Take(n).Order().Select(i => texts[i]).ToList();
        var train = order.Skip(n).Order().Select(i => texts[i]).ToList();
        return (train, validation);
    }
}

/// <summary>What pretraining needs of a tokenizer beyond encoding: the mask token, and WordPiece's word boundaries.</summary>
internal static class PretrainingTokens
{
    /// <summary>
    /// The mask token's id: tokenizer_config.json's mask_token (or the family's [MASK] / &lt;mask&gt;), looked up in the
    /// vocabulary files, else as the tokenizer encodes it. An error naming <paramref name="source"/> when there is none.
    /// </summary>
    public static int MaskId(TextTokenizer tokenizer, IReadOnlyDictionary<string, byte[]> files, int vocabSize, string source)
    {
        string text = ConfigString(files, "tokenizer_config.json", "mask_token") ?? ConfigString(files, "special_tokens_map.json", "mask_token")
            ?? (tokenizer.Layout == SpecialTokenLayout.Bert ? "[MASK]" : "<mask>");
        int? id = null;
        if (files.TryGetValue("vocab.txt", out var vocabTxt))
            id = WordPieceTextTokenizer.ReadVocabulary(new StreamReader(new MemoryStream(vocabTxt))).TryGetValue(text, out int v) ? v : null;
        else if (files.TryGetValue("vocab.json", out var vocabJson) && JsonSerializer.Deserialize<Dictionary<string, int>>(vocabJson) is { } dict)
            id = dict.TryGetValue(text, out int v) ? v : null;
        // XLM-R's sentencepiece.bpe.model has no <mask>: fairseq (and transformers' XLMRobertaTokenizer) put it after
        // the shifted pieces, the last id of the vocabulary.
        if (id is null && text == "<mask>" && files.ContainsKey("sentencepiece.bpe.model")) id = vocabSize - 1;
        if (id is null && tokenizer.TokenizeToIds(text) is [int single] && single != tokenizer.Special.Unknown) id = single;
        return id ?? throw new CheckpointException($"The tokenizer of '{source}' has no mask token '{text}': masked-language-model training needs one.", source);
    }

    /// <summary>For whole-word masking: a test for WordPiece "##" continuation ids. Throws, naming
    /// <paramref name="option"/>, for tokenizers whose pieces do not mark word continuations that way.</summary>
    public static Func<int, bool> WordContinuation(TextTokenizer tokenizer, string option)
    {
        if (tokenizer is not WordPieceTextTokenizer wordPiece)
            throw new ArgumentException($"{option} needs a WordPiece tokenizer (BERT's \"##\" continuation pieces); this model's tokenizer is {tokenizer.GetType().Name}. Leave {option} off.");
        var continuation = wordPiece.Vocabulary.Where(kv => kv.Key.StartsWith("##", StringComparison.Ordinal)).Select(kv => kv.Value).ToHashSet();
        return continuation.Contains;
    }

    private static string? ConfigString(IReadOnlyDictionary<string, byte[]> files, string file, string name)
    {
        if (!files.TryGetValue(file, out var bytes)) return null;
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            if (!doc.RootElement.TryGetProperty(name, out var v)) return null;
            return v.ValueKind switch
            {
                JsonValueKind.String => v.GetString(),
                JsonValueKind.Object when v.TryGetProperty("content", out var c) => c.GetString(),
                _ => null,
            };
        }
        catch (JsonException) { return null; } // the tokenizer loader already reported malformed files
    }
}
