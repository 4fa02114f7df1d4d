using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace MlNetLlm.Tokenization;

/// <summary>RoBERTa / GPT-2 byte-level BPE (vocab.json + merges.txt), through Microsoft.ML.Tokenizers' BpeTokenizer.</summary>
internal sealed class ByteLevelBpeTextTokenizer : TextTokenizer
{
    private readonly BpeTokenizer _bpe;

    private ByteLevelBpeTextTokenizer(BpeTokenizer bpe, SpecialTokenIds special, int modelMaxLength)
        : base(special, SpecialTokenLayout.Roberta, modelMaxLength)
    {
        _bpe = bpe;
    }

    public static ByteLevelBpeTextTokenizer Create(string vocabJsonPath, string mergesPath, int modelMaxLength = 512, TokenizerSpecialTokens? specials = null)
    {
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(vocabJsonPath))
                    ?? throw new InvalidDataException($"'{vocabJsonPath}' is not a JSON object of token → id.");
        var merges = File.ReadLines(mergesPath).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal));
        return Create(vocab, merges, vocabJsonPath, modelMaxLength, specials);
    }

    /// <summary>From an in-memory vocabulary and merges ("a b" per merge; tokenizer.json's BPE model).</summary>
    public static ByteLevelBpeTextTokenizer Create(Dictionary<string, int> vocab, IEnumerable<string> merges, string source, int modelMaxLength = 512, TokenizerSpecialTokens? specials = null)
    {
        int Id(string? token, string fallback)
        {
            string t = token ?? fallback;
            return vocab.TryGetValue(t, out int id) ? id
                : throw new InvalidDataException($"'{source}' has no special token '{t}'.");
        }
        var special = new SpecialTokenIds(
            Id(specials?.Start, "<s>"), Id(specials?.Separator, "</s>"), Id(specials?.Padding, "<pad>"), Id(specials?.Unknown, "<unk>"));
        var bpe = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges.ToList(),
            ByteLevel = true,
            PreTokenizer = RobertaPreTokenizer.Instance,
            UnknownToken = specials?.Unknown ?? "<unk>",
        });
        return new ByteLevelBpeTextTokenizer(bpe, special, modelMaxLength);
    }

    public override IReadOnlyList<int> TokenizeToIds(string text) => _bpe.EncodeToIds(text);
}
