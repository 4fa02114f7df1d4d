using System.Globalization;
using System.Text;

namespace MlNetLlm.Tokenization;

/// <summary>
/// BERT's text splitting as Hugging Face's tokenizers library does it (BertNormalizer, then BertPreTokenizer), in
/// this order: drop NUL, U+FFFD and control/format/unassigned characters and turn every whitespace character
/// (including \n \t \r) into a space; put spaces around CJK ideographs; strip accents (NFD, drop non-spacing marks);
/// lower-case; split on whitespace; isolate every punctuation character (all ASCII non-alphanumeric symbols and
/// Unicode P*). The words it returns go to WordPiece.
/// </summary>
internal sealed class BertBasicTokenizer(bool lowerCase = true, bool? stripAccents = null, bool handleChineseChars = true, bool cleanText = true)
{
    public bool LowerCase { get; } = lowerCase;
    public bool StripAccents { get; } = stripAccents ?? lowerCase; // transformers: strip_accents follows do_lower_case when unset
    public bool HandleChineseChars { get; } = handleChineseChars;
    public bool CleanText { get; } = cleanText;

    /// <summary>The normalised text (BertNormalizer).</summary>
    public string Normalize(string text)
    {
        var sb = new StringBuilder(text.Length + 8);
        foreach (var rune in text.EnumerateRunes())
        {
            if (CleanText)
            {
                var c = Classify(rune.Value);
                if (c == CharClass.Removed) continue;
                if (c == CharClass.Space) { sb.Append(' '); continue; }
            }
            if (HandleChineseChars && IsCjk(rune.Value)) sb.Append(' ').Append(rune.ToString()).Append(' ');
            else sb.Append(rune.ToString());
        }
        string s = sb.ToString();
        if (StripAccents)
        {
            string nfd = s.Normalize(NormalizationForm.FormD);
            sb.Clear();
            foreach (var rune in nfd.EnumerateRunes())
                if (!IsMark(rune)) sb.Append(rune.ToString());
            s = sb.ToString();
        }
        if (LowerCase)
        {
            sb.Clear();
            foreach (var rune in s.EnumerateRunes())
            {
                if (rune.Value == 0x130) sb.Append("i\u0307"); // the one unconditional multi-character lower-case mapping
                else sb.Append(Rune.ToLowerInvariant(rune).ToString());
            }
            s = sb.ToString();
        }
        return s;
    }

    /// <summary>Words and punctuation marks of the normalised <paramref name="text"/> (BertPreTokenizer).</summary>
    public List<string> PreTokenize(string text)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        void Flush()
        {
            if (current.Length > 0) words.Add(current.ToString());
            current.Clear();
        }
        foreach (var rune in text.EnumerateRunes())
        {
            if (Rune.IsWhiteSpace(rune)) Flush();
            else if (IsPunctuation(rune)) { Flush(); words.Add(rune.ToString()); }
            else current.Append(rune.ToString());
        }
        Flush();
        return words;
    }

    public List<string> Split(string text) => PreTokenize(Normalize(text));

    /// <summary>What BERT's normalizer and pre-tokenizer do with one character.</summary>
    public enum CharClass : byte
    {
        /// <summary>Dropped by clean_text (control and format characters).</summary>
        Removed,
        /// <summary>Turned into a space by clean_text; splits words.</summary>
        Space,
        /// <summary>A punctuation mark or CJK ideograph: a token of its own.</summary>
        Isolated,
        /// <summary>A non-spacing mark: dropped when accents are stripped.</summary>
        Mark,
        /// <summary>Part of a word.</summary>
        Letter,
    }

    /// <summary>
    /// The class Hugging Face's tokenizers gives <paramref name="codePoint"/>: the class from .NET's Unicode data,
    /// except where the library's older Unicode tables (the unicode_categories crate) disagree; those code points are
    /// listed in <see cref="HuggingFaceCharClasses"/>, generated from the library itself and checked by a test.
    /// </summary>
    public static CharClass Classify(int codePoint) => HuggingFaceCharClasses.Find(codePoint) ?? DefaultClass(codePoint);

    /// <summary>The class from .NET's own Unicode data (is_control: Cc Cf Cn Co Cs but \t \n \r; whitespace; CJK;
    /// punctuation: ASCII symbols and P*; Mn).</summary>
    public static CharClass DefaultClass(int codePoint)
    {
        if (!Rune.IsValid(codePoint)) return CharClass.Removed;
        var r = new Rune(codePoint);
        if (codePoint is '\t' or '\n' or '\r') return CharClass.Space;
        var category = Rune.GetUnicodeCategory(r);
        if (codePoint is 0 or 0xFFFD || category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.OtherNotAssigned
                or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate) return CharClass.Removed;
        if (Rune.IsWhiteSpace(r)) return CharClass.Space;
        if (IsCjk(codePoint)) return CharClass.Isolated;
        if (r.IsAscii ? codePoint is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126
            : category is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
                or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation)
            return CharClass.Isolated;
        return category == UnicodeCategory.NonSpacingMark ? CharClass.Mark : CharClass.Letter;
    }

    private static bool IsPunctuation(Rune r) => Classify(r.Value) == CharClass.Isolated && !IsCjk(r.Value);
    private static bool IsMark(Rune r) => Classify(r.Value) == CharClass.Mark;

    // The CJK Unified Ideographs blocks BERT pads with spaces (not Hiragana, Katakana or Hangul). 0x2B920, not
    // 0x2B820, starts the fifth range in Hugging Face's tokenizers (Google's BERT has 0x2B820): parity follows HF.
    private static bool IsCjk(int c) =>
        c is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B920 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
