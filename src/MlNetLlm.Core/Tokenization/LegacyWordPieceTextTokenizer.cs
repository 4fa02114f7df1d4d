using Microsoft.ML.Tokenizers;

namespace MlNetLlm.Modeling.Tokenization;

/// <summary>BERT WordPiece (vocab.txt), through Microsoft.ML.Tokenizers' BertTokenizer.</summary>
public sealed class WordPieceTextTokenizer : TextTokenizer
{
    private readonly BertTokenizer _bert;

    private WordPieceTextTokenizer(BertTokenizer bert, int modelMaxLength)
        : base(new SpecialTokenIds(bert.ClassificationTokenId, bert.SeparatorTokenId, bert.PaddingTokenId, bert.UnknownTokenId),
               SpecialTokenLayout.Bert, modelMaxLength)
    {
        _bert = bert;
    }

    public BertTokenizer Inner => _bert;

    /// <param name="vocabPath">vocab.txt, one token a line, line number = id.</param>
    /// <param name="lowerCase">do_lower_case.</param>
    /// <param name="stripAccents">strip_accents; null follows <paramref name="lowerCase"/>, as transformers does.</param>
    public static WordPieceTextTokenizer Create(string vocabPath, bool lowerCase = true, bool? stripAccents = null,
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
        return new WordPieceTextTokenizer(BertTokenizer.Create(vocabPath, options), modelMaxLength);
    }

    public override IReadOnlyList<int> TokenizeToIds(string text) => _bert.EncodeToIds(text, addSpecialTokens: false);
}

/// <summary>Special token strings from tokenizer_config.json / special_tokens_map.json (null: the family default).</summary>
public sealed record TokenizerSpecialTokens(string? Start = null, string? Separator = null, string? Padding = null, string? Unknown = null, string? Mask = null);
