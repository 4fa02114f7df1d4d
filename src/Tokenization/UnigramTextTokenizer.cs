using System.Text;

namespace MlNetLlm.Tokenization;

/// <summary>
/// A SentencePiece Unigram model run the way Hugging Face's tokenizers runs a converted one (XLM-R and most
/// multilingual encoders): special tokens in the text kept whole, the normalizer steps in order, Metaspace
/// pre-tokenization (spaces become ▁, a ▁ is prepended, the text is split before each run of ▁), then the
/// highest-scoring segmentation of each piece (Viterbi over the vocabulary's log-probabilities), characters no
/// piece covers scoring <c>min score - 10</c> and consecutive unknowns fused into one unknown token.
/// Checked id for id against the Rust library (tests/MlNetLlm.Tokenization.Tests/UnigramParityTests.cs).
/// </summary>
internal sealed class UnigramTextTokenizer : TextTokenizer
{
    private const double UnknownPenalty = 10.0;
    private const char Replacement = '\u2581';

    /// <summary>One normalizer step of a tokenizer.json (or of the transformers converter's pipeline).</summary>
    public abstract record NormalizerStep
    {
        public abstract string Apply(string text);
    }

    public sealed record PrecompiledStep(PrecompiledCharsMap Map) : NormalizerStep
    {
        public override string Apply(string text) => Map.Normalize(text);
    }

    public sealed record StripStep(bool Left, bool Right) : NormalizerStep
    {
        public override string Apply(string text) => Left && Right ? text.Trim() : Left ? text.TrimStart() : Right ? text.TrimEnd() : text;
    }

    public sealed record ReplaceStep(string? Literal, System.Text.RegularExpressions.Regex? Pattern, string Content) : NormalizerStep
    {
        public override string Apply(string text) => Pattern is not null ? Pattern.Replace(text, _ => Content) : Literal!.Length == 0 ? text : text.Replace(Literal, Content, StringComparison.Ordinal);
    }

    public sealed record UnicodeStep(NormalizationForm Form) : NormalizerStep
    {
        public override string Apply(string text) => text.Normalize(Form);
    }

    public sealed record LowercaseStep : NormalizerStep
    {
        public override string Apply(string text) => text.ToLowerInvariant();
    }

    /// <summary>Metaspace's prepend_scheme: "always", "first" (only the text's first segment) or "never".</summary>
    public enum PrependScheme { Always, First, Never }

    private sealed class TrieNode
    {
        public Dictionary<char, TrieNode>? Children;
        public int Id = -1;
    }

    private readonly TrieNode _root = new();
    private readonly double[] _scores;
    private readonly string[] _pieces;
    private readonly double _unknownScore;
    private readonly IReadOnlyList<NormalizerStep> _normalizer;
    private readonly PrependScheme _prepend;
    private readonly bool _split;
    private readonly AddedTokens _added;

    public UnigramTextTokenizer(IReadOnlyList<(string Piece, double Score)> vocab, int unknownId, IReadOnlyList<NormalizerStep> normalizer,
        PrependScheme prepend, bool splitOnReplacement, IEnumerable<AddedToken> added, SpecialTokenIds special, SpecialTokenLayout layout, int modelMaxLength)
        : base(special, layout, modelMaxLength)
    {
        if (unknownId < 0 || unknownId >= vocab.Count)
            throw new InvalidDataException($"The Unigram model's unk_id {unknownId} is outside its {vocab.Count} pieces.");
        _pieces = new string[vocab.Count];
        _scores = new double[vocab.Count];
        double min = double.PositiveInfinity;
        for (int id = 0; id < vocab.Count; id++)
        {
            var (piece, score) = vocab[id];
            _pieces[id] = piece;
            _scores[id] = score;
            min = Math.Min(min, score);
            var node = _root;
            foreach (char c in piece)
            {
                node.Children ??= [];
                if (!node.Children.TryGetValue(c, out var next)) node.Children[c] = next = new TrieNode();
                node = next;
            }
            if (node.Id < 0) node.Id = id; // a piece listed twice keeps its first id
        }
        _unknownScore = min - UnknownPenalty;
        _normalizer = normalizer;
        _prepend = prepend;
        _split = splitOnReplacement;
        _added = new AddedTokens(added);
    }

    public override string? TokenText(int id) => id >= 0 && id < _pieces.Length ? _pieces[id] : null;

    public override IReadOnlyList<int> TokenizeToIds(string text)
    {
        var ids = new List<int>();
        foreach (var (start, segment, token) in _added.Split(text))
        {
            if (token is not null) ids.Add(token.Id);
            else if (segment!.Length > 0) EncodeSegment(segment, firstInText: start == 0, ids);
        }
        return ids;
    }

    private void EncodeSegment(string segment, bool firstInText, List<int> ids)
    {
        foreach (var step in _normalizer) segment = step.Apply(segment);
        if (segment.Length == 0) return;
        segment = segment.Replace(' ', Replacement);
        if (segment[0] != Replacement && (_prepend == PrependScheme.Always || (_prepend == PrependScheme.First && firstInText)))
            segment = Replacement + segment;
        if (!_split)
        {
            Viterbi(segment, ids);
            return;
        }
        // Split before each run of ▁ (the run stays with the text after it).
        int pieceStart = 0;
        for (int i = 1; i < segment.Length; i++)
            if (segment[i] == Replacement && segment[i - 1] != Replacement)
            {
                Viterbi(segment[pieceStart..i], ids);
                pieceStart = i;
            }
        Viterbi(segment[pieceStart..], ids);
    }

    private void Viterbi(string s, List<int> ids)
    {
        int n = s.Length;
        var bestScore = new double[n + 1];
        var bestStart = new int[n + 1];
        var bestId = new int[n + 1];
        Array.Fill(bestStart, -1);
        int pos = 0;
        while (pos < n)
        {
            int charLength = char.IsHighSurrogate(s[pos]) && pos + 1 < n && char.IsLowSurrogate(s[pos + 1]) ? 2 : 1;
            double here = bestScore[pos];
            bool singleChar = false;
            var node = _root;
            for (int end = pos; end < n; end++)
            {
                if (node.Children is null || !node.Children.TryGetValue(s[end], out node)) break;
                int length = end + 1 - pos;
                if (node.Id < 0 || (end + 1 < n && char.IsLowSurrogate(s[end + 1]) && char.IsHighSurrogate(s[end]))) continue;
                double candidate = here + _scores[node.Id];
                if (bestStart[end + 1] < 0 || candidate > bestScore[end + 1])
                    (bestScore[end + 1], bestStart[end + 1], bestId[end + 1]) = (candidate, pos, node.Id);
                if (length == charLength) singleChar = true;
            }
            if (!singleChar)
            {
                double candidate = here + _unknownScore;
                if (bestStart[pos + charLength] < 0 || candidate > bestScore[pos + charLength])
                    (bestScore[pos + charLength], bestStart[pos + charLength], bestId[pos + charLength]) = (candidate, pos, Special.Unknown);
            }
            pos += charLength;
        }
        // Back from the end; consecutive unknown pieces become one unknown token.
        var path = new List<int>();
        for (int end = n; end > 0; end = bestStart[end])
        {
            int id = bestId[end];
            if (id == Special.Unknown && path.Count > 0 && path[^1] == Special.Unknown) continue;
            path.Add(id);
        }
        path.Reverse();
        ids.AddRange(path);
    }

    /// <summary>XLM-R's tokenizer as transformers converts its sentencepiece.bpe.model into a fast tokenizer:
    /// &lt;s&gt;, &lt;pad&gt;, &lt;/s&gt;, &lt;unk&gt; at 0-3, the model's pieces from its fourth on shifted by one,
    /// &lt;mask&gt; last; normalizer = the model's charsmap, strip right, runs of spaces to ▁; Metaspace prepending always.</summary>
    public static UnigramTextTokenizer FromXlmRobertaModel(SentencePieceModelFile model, int modelMaxLength)
    {
        if (model.Model != SentencePieceModelFile.ModelType.Unigram)
            throw new InvalidDataException($"The SentencePiece model is a {model.Model} model, not Unigram.");
        var vocab = new List<(string, double)> { ("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0) };
        vocab.AddRange(model.Pieces.Skip(3).Select(p => (p.Text, (double)p.Score)));
        vocab.Add(("<mask>", 0.0));
        var normalizer = new List<NormalizerStep>();
        if (model.PrecompiledCharsMap.Length > 0) normalizer.Add(new PrecompiledStep(new PrecompiledCharsMap(model.PrecompiledCharsMap)));
        normalizer.Add(new StripStep(Left: false, Right: true));
        normalizer.Add(new ReplaceStep(null, new System.Text.RegularExpressions.Regex(" {2,}"), "\u2581"));
        int mask = vocab.Count - 1;
        AddedToken[] added = [new("<s>", 0), new("<pad>", 1), new("</s>", 2), new("<unk>", 3), new("<mask>", mask, LeftStrip: true)];
        return new UnigramTextTokenizer(vocab, 3, normalizer, PrependScheme.Always, splitOnReplacement: true, added,
            new SpecialTokenIds(Start: 0, Separator: 2, Padding: 1, Unknown: 3), SpecialTokenLayout.Roberta, modelMaxLength);
    }
}
