namespace MlNetLlm.Tokenization;

/// <summary>How a model wraps one text or a pair in special tokens.</summary>
public enum SpecialTokenLayout
{
    /// <summary><c>[CLS] a [SEP]</c> / <c>[CLS] a [SEP] b [SEP]</c>, token types 0 then 1 (BERT, DistilBERT).</summary>
    Bert,
    /// <summary><c>&lt;s&gt; a &lt;/s&gt;</c> / <c>&lt;s&gt; a &lt;/s&gt;&lt;/s&gt; b &lt;/s&gt;</c>, token types all 0 (RoBERTa, XLM-R).</summary>
    Roberta,
}

/// <summary>One encoded text (or pair): ids with special tokens, and token type ids of the same length.</summary>
public sealed record EncodedText(int[] InputIds, int[] TokenTypeIds)
{
    public int Length => InputIds.Length;
}

/// <summary>The special token ids a model needs.</summary>
public sealed record SpecialTokenIds(int Start, int Separator, int Padding, int Unknown);

/// <summary>
/// A tokenizer as a Hugging Face model uses it: subword ids from the checkpoint's own vocabulary, special tokens
/// in the model's layout, and truncation to a maximum length (longest-first for pairs, as transformers does).
/// Thread-safe: encoding keeps no state between calls.
/// </summary>
public abstract class TextTokenizer(SpecialTokenIds special, SpecialTokenLayout layout, int modelMaxLength)
{
    public SpecialTokenIds Special { get; } = special;
    public SpecialTokenLayout Layout { get; } = layout;

    /// <summary>The longest sequence the model's position table allows.</summary>
    public int ModelMaxLength { get; } = modelMaxLength;

    /// <summary>The vocabulary entry of <paramref name="id"/> (null where the tokenizer cannot say).</summary>
    public virtual string? TokenText(int id) => null;

    /// <summary>Subword ids of <paramref name="text"/>, without special tokens.</summary>
    public abstract IReadOnlyList<int> TokenizeToIds(string text);

    /// <summary>Special tokens a single text (pair: <paramref name="pair"/> true) takes.</summary>
    public int SpecialTokenCount(bool pair) => pair ? (Layout == SpecialTokenLayout.Bert ? 3 : 4) : 2;

    /// <summary>
    /// Encodes a text, or a pair, with special tokens, truncated so the result has at most <paramref name="maxLength"/> ids
    /// (and never more than <see cref="ModelMaxLength"/>). Null text is rejected; an empty text gives only the special tokens.
    /// </summary>
    public EncodedText Encode(string text, string? pair = null, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        int limit = Math.Min(maxLength ?? ModelMaxLength, ModelMaxLength);
        int specials = SpecialTokenCount(pair is not null);
        if (limit < specials + 1)
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength,
                $"maxLength must leave room for the {specials} special tokens and at least one text token (at least {specials + 1}).");

        var a = TokenizeToIds(text).ToList();
        var b = pair is null ? null : TokenizeToIds(pair).ToList();
        int budget = limit - specials;
        if (b is null)
        {
            if (a.Count > budget) a.RemoveRange(budget, a.Count - budget);
        }
        else
        {
            // longest_first: take one token at a time from the longer side (the second one on ties).
            while (a.Count + b.Count > budget)
            {
                if (a.Count > b.Count) a.RemoveAt(a.Count - 1);
                else b.RemoveAt(b.Count - 1);
            }
        }
        return Wrap(a, b);
    }

    /// <summary>Encodes a text, or a pair, with special tokens and no truncation at all (what the model would be
    /// given without a length limit; for inspecting tokenization).</summary>
    public EncodedText EncodeAll(string text, string? pair = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Wrap(TokenizeToIds(text).ToList(), pair is null ? null : TokenizeToIds(pair).ToList());
    }

    private EncodedText Wrap(List<int> a, List<int>? b)
    {
        var ids = new List<int>(a.Count + (b?.Count ?? 0) + 4) { Special.Start };
        ids.AddRange(a);
        ids.Add(Special.Separator);
        int firstLength = ids.Count;
        if (b is not null)
        {
            if (Layout == SpecialTokenLayout.Roberta) ids.Add(Special.Separator);
            ids.AddRange(b);
            ids.Add(Special.Separator);
        }
        var types = new int[ids.Count];
        if (Layout == SpecialTokenLayout.Bert)
            for (int i = firstLength; i < types.Length; i++) types[i] = 1;
        return new EncodedText(ids.ToArray(), types);
    }
}
