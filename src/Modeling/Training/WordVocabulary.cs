using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace MlNetLlm.Modeling.Training;

/// <summary>
/// A word-level vocabulary learned from training text, written as a BERT vocab.txt so the same WordPiece tokenizer
/// (lower-casing, accent stripping, punctuation split) serves the LSTM and the from-scratch transformer;
/// words outside it become [UNK].
/// </summary>
internal static partial class WordVocabulary
{
    public static readonly string[] SpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    [GeneratedRegex(@"\p{L}[\p{L}\p{M}]*|\p{N}+|[^\s\p{L}\p{N}]", RegexOptions.CultureInvariant)]
    private static partial Regex WordPattern();

    /// <summary>Lower-cased, accent-stripped words and punctuation, as BERT's basic tokenizer splits them.</summary>
    public static IEnumerable<string> Words(string text)
    {
        string normalized = StripAccents(text.ToLowerInvariant());
        foreach (Match m in WordPattern().Matches(normalized))
            yield return m.Value;
    }

    /// <summary>Special tokens, then words seen at least <paramref name="minCount"/> times, most frequent first (ties: ordinal).</summary>
    public static List<string> Build(IEnumerable<string> texts, int maxSize, int minCount = 2)
    {
        if (maxSize <= SpecialTokens.Length)
            throw new ArgumentOutOfRangeException(nameof(maxSize), maxSize, $"The vocabulary needs room beyond the {SpecialTokens.Length} special tokens.");
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in texts)
            foreach (var w in Words(t))
                counts[w] = counts.GetValueOrDefault(w) + 1;
        var words = counts.Where(kv => kv.Value >= minCount && !SpecialTokens.Contains(kv.Key))
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(maxSize - SpecialTokens.Length).Select(kv => kv.Key);
        return [.. SpecialTokens, .. words];
    }

    /// <summary>vocab.txt's bytes: one token a line, UTF-8 without BOM.</summary>
    public static byte[] ToBytes(IEnumerable<string> tokens) => new UTF8Encoding(false).GetBytes(string.Concat(tokens.Select(t => t + Environment.NewLine)));

    private static string StripAccents(string s)
    {
        var d = s.Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(d.Length);
        foreach (char c in d)
            if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark) sb.Append(c);
        return sb.ToString().Normalize(NormalizationForm.FormC);
    }
}

/// <summary>Reads GloVe vectors from the plain text format (<c>word f1 ... fd</c>), optionally gzip-compressed.</summary>
internal static class GloveVectors
{
    /// <summary>Vectors of the wanted words only (all when null). Every line must have the same dimension.</summary>
    public static (Dictionary<string, float[]> Vectors, int Dimension) Load(string path, IReadOnlySet<string>? wanted = null)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"GloVe file '{path}' does not exist.", path);
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        int dim = -1, lineNo = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (line.Length == 0) continue;
            var parts = line.TrimEnd().Split(' ');
            if (dim < 0) dim = parts.Length - 1;
            if (parts.Length - 1 != dim || dim < 1)
                throw new FormatException($"GloVe file '{path}' line {lineNo}: {parts.Length - 1} numbers after the word, expected {dim}.");
            if (wanted is not null && !wanted.Contains(parts[0])) continue;
            var v = new float[dim];
            for (int i = 0; i < dim; i++)
                if (!float.TryParse(parts[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out v[i]))
                    throw new FormatException($"GloVe file '{path}' line {lineNo}: '{parts[i + 1]}' is not a number.");
            result[parts[0]] = v;
        }
        if (dim < 1) throw new FormatException($"GloVe file '{path}' holds no vectors.");
        return (result, dim);
    }
}
