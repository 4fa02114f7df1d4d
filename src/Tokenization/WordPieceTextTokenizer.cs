using System.Text;

namespace MlNetLlm.Tokenization;

/// <summary>
/// BERT WordPiece with the ids Hugging Face's tokenizers library gives: special tokens written in the text are kept
/// whole (as HF's added tokens), the rest goes through <see cref="BertBasicTokenizer"/> and then greedy
/// longest-match-first WordPiece with the <c>##</c> continuation prefix; a word longer than 100 characters, or one
/// that cannot be covered by vocabulary pieces, becomes the unknown token. Checked id for id against the Rust library
/// (tests/MlNetLlm.Tokenization.Tests/TokenizerParityTests.cs).
/// </summary>
internal sealed class WordPieceTextTokenizer : TextTokenizer
{
    private readonly Dictionary<string, int> _vocab;
    private readonly AddedTokens _added;
    private readonly string _prefix;
    private readonly int _maxWordChars;

    private WordPieceTextTokenizer(Dictionary<string, int> vocab, BertBasicTokenizer basic, SpecialTokenIds special, IEnumerable<string> specialTexts,
        int modelMaxLength, string prefix, int maxWordChars)
        : base(special, SpecialTokenLayout.Bert, modelMaxLength)
    {
        _vocab = vocab;
        Basic = basic;
        _added = new AddedTokens(specialTexts.Where(vocab.ContainsKey).Select(t => new AddedToken(t, vocab[t])));
        _prefix = prefix;
        _maxWordChars = maxWordChars;
    }

    public BertBasicTokenizer Basic { get; }
    public IReadOnlyDictionary<string, int> Vocabulary => _vocab;

    /// <param name="vocabPath">vocab.txt, one token a line (LF or CRLF), line number = id.</param>
    /// <param name="lowerCase">do_lower_case.</param>
    /// <param name="stripAccents">strip_accents; null follows <paramref name="lowerCase"/>, as transformers does.</param>
    public static WordPieceTextTokenizer Create(string vocabPath, bool lowerCase = true, bool? stripAccents = null,
        bool tokenizeChineseChars = true, int modelMaxLength = 512, TokenizerSpecialTokens? specials = null)
    {
        using var reader = File.OpenText(vocabPath);
        return Create(ReadVocabulary(reader), new BertBasicTokenizer(lowerCase, stripAccents, tokenizeChineseChars), modelMaxLength, specials);
    }

    /// <summary>vocab.txt: one token a line (LF or CRLF), line number = id.</summary>
    public static Dictionary<string, int> ReadVocabulary(TextReader reader)
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        int id = 0;
        for (string? line; (line = reader.ReadLine()) is not null; id++)
            vocab[line] = id; // a token listed twice keeps its last id, as in transformers and tokenizers
        return vocab;
    }

    /// <summary>From an in-memory vocabulary (tokenizer.json's WordPiece model).</summary>
    public static WordPieceTextTokenizer Create(Dictionary<string, int> vocab, BertBasicTokenizer basic, int modelMaxLength = 512,
        TokenizerSpecialTokens? specials = null, string continuingSubwordPrefix = "##", int maxInputCharsPerWord = 100, IEnumerable<string>? addedTokens = null)
    {
        specials ??= new TokenizerSpecialTokens();
        string cls = specials.Start ?? "[CLS]", sep = specials.Separator ?? "[SEP]", pad = specials.Padding ?? "[PAD]", unk = specials.Unknown ?? "[UNK]",
            mask = specials.Mask ?? "[MASK]";
        int Id(string token, string role) => vocab.TryGetValue(token, out int i) ? i
            : throw new InvalidDataException($"The vocabulary has no {role} token '{token}'.");
        var ids = new SpecialTokenIds(Id(cls, "classification"), Id(sep, "separator"), Id(pad, "padding"), Id(unk, "unknown"));
        return new WordPieceTextTokenizer(vocab, basic, ids, [cls, sep, pad, unk, mask, .. addedTokens ?? []], modelMaxLength, continuingSubwordPrefix, maxInputCharsPerWord);
    }

    private string[]? _tokens;

    public override string? TokenText(int id)
    {
        var tokens = _tokens ??= BuildTokenArray();
        return id >= 0 && id < tokens.Length ? tokens[id] : null;
    }

    private string[] BuildTokenArray()
    {
        var tokens = new string[_vocab.Values.DefaultIfEmpty(-1).Max() + 1];
        foreach (var (token, id) in _vocab) tokens[id] = token;
        return tokens;
    }

    public override IReadOnlyList<int> TokenizeToIds(string text)
    {
        // Special tokens written in the text stay whole, as in Hugging Face (added tokens are matched before normalising).
        var ids = new List<int>();
        foreach (var (_, segment, token) in _added.Split(text))
        {
            if (token is not null) ids.Add(token.Id);
            else foreach (var word in Basic.Split(segment!)) AppendWordPieces(word, ids);
        }
        return ids;
    }

    private void AppendWordPieces(string word, List<int> ids)
    {
        // Rune boundaries: a piece never splits a surrogate pair.
        var bounds = new List<int> { 0 };
        foreach (var r in word.EnumerateRunes()) bounds.Add(bounds[^1] + r.Utf16SequenceLength);
        int runes = bounds.Count - 1;
        if (runes > _maxWordChars) { ids.Add(Special.Unknown); return; }
        var pieces = new List<int>();
        int startRune = 0;
        var sb = new StringBuilder();
        while (startRune < runes)
        {
            int endRune = runes, found = -1;
            while (startRune < endRune)
            {
                sb.Clear();
                if (startRune > 0) sb.Append(_prefix);
                sb.Append(word, bounds[startRune], bounds[endRune] - bounds[startRune]);
                if (_vocab.TryGetValue(sb.ToString(), out int id)) { found = id; break; }
                endRune--;
            }
            if (found < 0) { ids.Add(Special.Unknown); return; } // the whole word is unknown, as in BERT
            pieces.Add(found);
            startRune = endRune;
        }
        ids.AddRange(pieces);
    }
}

/// <summary>Special token strings from tokenizer_config.json / special_tokens_map.json (null: the family default).</summary>
internal sealed record TokenizerSpecialTokens(string? Start = null, string? Separator = null, string? Padding = null, string? Unknown = null, string? Mask = null);
