namespace MlNetLlm.Tokenization;

/// <summary>A token matched in the raw text before normalization (Hugging Face's added tokens: [CLS], &lt;mask&gt;, ...).
/// <see cref="LeftStrip"/> / <see cref="RightStrip"/> absorb the whitespace beside it.</summary>
internal sealed record AddedToken(string Content, int Id, bool LeftStrip = false, bool RightStrip = false);

/// <summary>
/// Splits a text around the added tokens written in it, as Hugging Face's added vocabulary does before normalization:
/// the leftmost match wins, the longest of those starting at the same place. Shared by every tokenizer here.
/// </summary>
internal sealed class AddedTokens(IEnumerable<AddedToken> tokens)
{
    private readonly AddedToken[] _tokens = tokens.Where(t => t.Content.Length > 0).DistinctBy(t => t.Content)
        .OrderByDescending(t => t.Content.Length).ToArray(); // longest first: ties keep the longer one

    /// <summary>The text between added tokens (with where it starts) and the tokens, in order; text pieces may be empty.</summary>
    public IEnumerable<(int Start, string? Text, AddedToken? Token)> Split(string text)
    {
        int start = 0;
        while (true)
        {
            var (at, end, token) = Next(text, start);
            yield return (start, text[start..(at < 0 ? text.Length : at)], null);
            if (token is null) yield break;
            yield return (at, null, token);
            start = end;
        }
    }

    private (int At, int End, AddedToken? Token) Next(string text, int from)
    {
        int best = -1;
        AddedToken? found = null;
        foreach (var t in _tokens)
        {
            int i = text.IndexOf(t.Content, from, StringComparison.Ordinal);
            if (i >= 0 && (best < 0 || i < best)) (best, found) = (i, t);
        }
        if (found is null) return (-1, -1, null);
        int at = best, end = best + found.Content.Length;
        if (found.LeftStrip) while (at > from && char.IsWhiteSpace(text[at - 1])) at--;
        if (found.RightStrip) while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
        return (at, end, found);
    }
}
