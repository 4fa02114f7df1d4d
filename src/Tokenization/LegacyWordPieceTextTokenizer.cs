using Microsoft.ML.Tokenizers;

namespace MlNetLlm.Tokenization;

/// <summary>
/// WordPiece through Microsoft.ML.Tokenizers' <c>BertTokenizer</c>, as models saved before Hugging Face parity were
/// trained with. Kept only so that those model zips score with the tokenization they learned; it deletes symbols
/// and glues words across line breaks (dotnet/machinelearning#7725, #7724). New models use <see cref="WordPieceTextTokenizer"/>.
/// </summary>
internal sealed class LegacyWordPieceTextTokenizer : TextTokenizer
{
    private readonly BertTokenizer _bert;

    private LegacyWordPieceTextTokenizer(BertTokenizer bert, int modelMaxLength)
        : base(new SpecialTokenIds(bert.ClassificationTokenId, bert.SeparatorTokenId, bert.PaddingTokenId, bert.UnknownTokenId),
               SpecialTokenLayout.Bert, modelMaxLength)
    {
        _bert = bert;
    }

    public static LegacyWordPieceTextTokenizer Create(string vocabPath, bool lowerCase = true, bool? stripAccents = null,
        bool tokenizeChineseChars = true, int modelMaxLength = 512, TokenizerSpecialTokens? specials = null)
    {
        using var stream = File.OpenRead(vocabPath);
        return Create(stream, lowerCase, stripAccents, tokenizeChineseChars, modelMaxLength, specials);
    }

    /// <param name="vocab">vocab.txt's bytes.</param>
    public static LegacyWordPieceTextTokenizer Create(Stream vocab, bool lowerCase = true, bool? stripAccents = null,
        bool tokenizeChineseChars = true, int modelMaxLength = 512, TokenizerSpecialTokens? specials = null)
    {
        var options = new BertOptions
        {
            LowerCaseBeforeTokenization = lowerCase,
            RemoveNonSpacingMarks = stripAccents ?? lowerCase,
            IndividuallyTokenizeCjk = tokenizeChineseChars,
        };
        if (specials is not null)
        {
            if (specials.Unknown is { } u) options.UnknownToken = u;
            if (specials.Start is { } c) options.ClassificationToken = c;
            if (specials.Separator is { } s) options.SeparatorToken = s;
            if (specials.Padding is { } p) options.PaddingToken = p;
            if (specials.Mask is { } m) options.MaskingToken = m;
        }
        return new LegacyWordPieceTextTokenizer(BertTokenizer.Create(vocab, options), modelMaxLength);
    }

    public override IReadOnlyList<int> TokenizeToIds(string text) => _bert.EncodeToIds(text, addSpecialTokens: false);
}
