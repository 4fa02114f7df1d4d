using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace MlNetLlm.Tokenization;

/// <summary>
/// SentencePiece's precompiled normalization rules (normalizer_spec.precompiled_charsmap, the "Precompiled" normalizer
/// of a tokenizer.json): a darts-clone double-array trie over UTF-8 keys whose values point into a blob of
/// NUL-terminated replacements. Applied as Hugging Face's tokenizers applies it: per extended grapheme cluster
/// (whole cluster first when it is under 6 bytes, otherwise each character), taking the shortest matching key.
/// </summary>
internal sealed class PrecompiledCharsMap
{
    private readonly uint[] _trie;
    private readonly byte[] _normalized;

    public PrecompiledCharsMap(byte[] charsMap)
    {
        if (charsMap.Length < 4) throw new InvalidDataException("The precompiled charsmap is shorter than its 4-byte header.");
        uint trieBytes = BinaryPrimitives.ReadUInt32LittleEndian(charsMap);
        if (trieBytes % 4 != 0 || trieBytes > charsMap.Length - 4)
            throw new InvalidDataException($"The precompiled charsmap's trie size ({trieBytes} bytes) does not fit its {charsMap.Length} bytes.");
        _trie = new uint[trieBytes / 4];
        for (int i = 0; i < _trie.Length; i++) _trie[i] = BinaryPrimitives.ReadUInt32LittleEndian(charsMap.AsSpan(4 + 4 * i));
        _normalized = charsMap[(4 + (int)trieBytes)..];
    }

    public string Normalize(string text)
    {
        if (text.Length == 0) return text;
        var sb = new StringBuilder(text.Length);
        var e = StringInfo.GetTextElementEnumerator(text);
        while (e.MoveNext())
        {
            string cluster = e.GetTextElement();
            if (Encoding.UTF8.GetByteCount(cluster) < 6 && Transform(cluster) is { } whole)
            {
                sb.Append(whole);
                continue;
            }
            foreach (var rune in cluster.EnumerateRunes())
            {
                string part = rune.ToString();
                sb.Append(Transform(part) ?? part);
            }
        }
        return sb.ToString();
    }

    private string? Transform(string chunk)
    {
        int value = FirstPrefixValue(Encoding.UTF8.GetBytes(chunk));
        if (value < 0 || value >= _normalized.Length) return null;
        int end = Array.IndexOf(_normalized, (byte)0, value);
        return Encoding.UTF8.GetString(_normalized, value, (end < 0 ? _normalized.Length : end) - value);
    }

    // darts-clone's common prefix search, stopping at the first (shortest) key found.
    private int FirstPrefixValue(byte[] key)
    {
        if (_trie.Length == 0) return -1;
        long pos = Offset(_trie[0]);
        foreach (byte c in key)
        {
            if (c == 0) break;
            pos ^= c;
            if (pos < 0 || pos >= _trie.Length) return -1;
            uint unit = _trie[pos];
            if ((unit & ((1u << 31) | 0xFF)) != c) return -1;
            pos ^= Offset(unit);
            if (pos < 0 || pos >= _trie.Length) return -1;
            if (((unit >> 8) & 1) == 1) return (int)(_trie[pos] & ((1u << 31) - 1));
        }
        return -1;
    }

    private static long Offset(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);
}
