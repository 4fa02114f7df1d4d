using System.Text.Json;

namespace MlNetLlm.Tokenization;

/// <summary>
/// Which of this project's tokenizer implementations a model was trained with. New models get <see cref="Current"/>;
/// a saved model names its own, so it is scored with the tokenization it was trained with.
/// </summary>
public enum TokenizerGeneration
{
    /// <summary>Microsoft.ML.Tokenizers for WordPiece (<see cref="LegacyWordPieceTextTokenizer"/>) and SentencePiece.</summary>
    MicrosoftMlTokenizers,
    /// <summary>Hugging Face parity for WordPiece and byte-level BPE; XLM-R still through Microsoft.ML.Tokenizers' SentencePiece.</summary>
    HuggingFaceWordPiece,
    /// <summary>Hugging Face parity everywhere, XLM-R's Unigram model included (<see cref="UnigramTextTokenizer"/>).</summary>
    HuggingFace,
}

/// <summary>
/// What a tokenizer needs to know of the model it feeds (a Hugging Face <c>config.json</c> says both): which tokenizer
/// files and algorithm (<c>model_type</c>), and the longest sequence the model's position table allows.
/// </summary>
public interface ITokenizedModel
{
    /// <summary>Hugging Face <c>model_type</c> (bert, distilbert, roberta, xlm-roberta, camembert).</summary>
    string ModelType { get; }

    /// <summary>Tokens the model's position table allows (RoBERTa's reserves padding_idx + 1 leading positions).</summary>
    int PositionLimit { get; }
}

/// <summary>Finds and loads the tokenizer files of a Hugging Face model folder for its model_type.</summary>
public static class TokenizerLoader
{
    public const TokenizerGeneration Current = TokenizerGeneration.HuggingFace;

    public static TextTokenizer Load(string folder, ITokenizedModel config, TokenizerGeneration generation = Current) =>
        Load(ReadFiles(folder), config, generation, folder);

    /// <summary>
    /// The tokenizer from its files by name (a folder's, or those stored in a model zip: <see cref="ReadFiles"/>), read
    /// in memory. <paramref name="source"/> names where they came from in errors.
    /// </summary>
    public static TextTokenizer Load(IReadOnlyDictionary<string, byte[]> files, ITokenizedModel config, TokenizerGeneration generation, string source)
    {
        bool legacyWordPiece = generation == TokenizerGeneration.MicrosoftMlTokenizers;
        string Named(string file) => Path.Combine(source, file);
        var tc = ReadTokenizerConfig(files, Named("tokenizer_config.json"));
        int maxLength = ModelMaxLength(config, tc);
        // Most current Hugging Face repositories ship only the fast tokenizer's tokenizer.json.
        if (!HasSlowTokenizerFiles(files, config.ModelType) && files.TryGetValue(TokenizerJson.FileName, out var fast))
            return TokenizerJson.Load(fast, Named(TokenizerJson.FileName), maxLength);
        var specials = new TokenizerSpecialTokens(
            SpecialToken(tc, "cls_token") ?? SpecialToken(tc, "bos_token"),
            SpecialToken(tc, "sep_token") ?? SpecialToken(tc, "eos_token"),
            SpecialToken(tc, "pad_token"),
            SpecialToken(tc, "unk_token"),
            SpecialToken(tc, "mask_token"));
        byte[] Require(string file) => files.TryGetValue(file, out var bytes) ? bytes
            : throw new CheckpointException(
                $"Tokenizer file '{file}' is missing from '{source}': a {config.ModelType} checkpoint needs {NeededFiles(config.ModelType)}, or a tokenizer.json.", Named(file));
        try
        {
            switch (config.ModelType)
            {
                case "bert":
                case "distilbert":
                {
                    bool lower = Bool(tc, "do_lower_case") ?? true, chinese = Bool(tc, "tokenize_chinese_chars") ?? true;
                    bool? strip = Bool(tc, "strip_accents");
                    var vocab = Require("vocab.txt");
                    if (legacyWordPiece)
                        return LegacyWordPieceTextTokenizer.Create(new MemoryStream(vocab, writable: false), lower, strip, chinese, maxLength, specials);
                    using var reader = new StreamReader(new MemoryStream(vocab, writable: false));
                    return WordPieceTextTokenizer.Create(WordPieceTextTokenizer.ReadVocabulary(reader), new BertBasicTokenizer(lower, strip, chinese), maxLength, specials);
                }
                case "roberta":
                case "camembert" when files.ContainsKey("vocab.json"):
                {
                    var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(Require("vocab.json"))
                                ?? throw new InvalidDataException($"'{Named("vocab.json")}' is not a JSON object of token → id.");
                    using var reader = new StreamReader(new MemoryStream(Require("merges.txt"), writable: false));
                    var merges = new List<string>();
                    for (string? line; (line = reader.ReadLine()) is not null;)
                        if (line.Length > 0 && !line.StartsWith("#version", StringComparison.Ordinal)) merges.Add(line);
                    return ByteLevelBpeTextTokenizer.Create(vocab, merges, Named("vocab.json"), maxLength, specials);
                }
                case "xlm-roberta":
                case "camembert":
                {
                    var spm = Require("sentencepiece.bpe.model");
                    // Real XLM-R ships a Unigram model: run it as transformers' converted fast tokenizer does. CamemBERT's
                    // conversion differs and BPE-type models have no such conversion here: those keep Microsoft.ML.Tokenizers.
                    if (generation == TokenizerGeneration.HuggingFace && config.ModelType == "xlm-roberta"
                        && SentencePieceModelFile.Parse(spm) is { Model: SentencePieceModelFile.ModelType.Unigram } unigram)
                        return UnigramTextTokenizer.FromXlmRobertaModel(unigram, maxLength);
                    return XlmRobertaTextTokenizer.Create(new MemoryStream(spm, writable: false), maxLength);
                }
                default:
                    throw new CheckpointException($"No tokenizer is known for model_type \"{config.ModelType}\" in '{source}'.", source);
            }
        }
        catch (Exception e) when (e is not CheckpointException)
        {
            throw new CheckpointException($"The tokenizer files in '{source}' could not be read: {e.Message}", source, inner: e);
        }
    }

    /// <summary>The files of <paramref name="folder"/> a tokenizer can be rebuilt from (stored in model zips), by name.</summary>
    public static Dictionary<string, byte[]> ReadFiles(string folder)
    {
        string[] names = ["config.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "sentencepiece.bpe.model", "tokenizer.json"];
        return names.Select(n => Path.Combine(folder, n)).Where(File.Exists).ToDictionary(n => Path.GetFileName(n), File.ReadAllBytes);
    }

    private static bool HasSlowTokenizerFiles(IReadOnlyDictionary<string, byte[]> files, string modelType) => modelType switch
    {
        "bert" or "distilbert" => files.ContainsKey("vocab.txt"),
        "roberta" => files.ContainsKey("vocab.json") && files.ContainsKey("merges.txt"),
        _ => files.ContainsKey("sentencepiece.bpe.model") || files.ContainsKey("vocab.json"),
    };

    public static string NeededFiles(string modelType) => modelType switch
    {
        "bert" or "distilbert" => "vocab.txt (and optionally tokenizer_config.json)",
        "roberta" => "vocab.json and merges.txt",
        _ => "sentencepiece.bpe.model",
    };

    private static int ModelMaxLength(ITokenizedModel config, JsonElement? tc)
    {
        int fromPositions = config.PositionLimit;
        if (tc is { } t && t.TryGetProperty("model_max_length", out var m) && m.ValueKind == JsonValueKind.Number
            && m.TryGetDouble(out double v) && v > 0 && v < fromPositions)
            return (int)v;
        return fromPositions;
    }

    private static JsonElement? ReadTokenizerConfig(IReadOnlyDictionary<string, byte[]> files, string path)
    {
        if (!files.TryGetValue("tokenizer_config.json", out var bytes)) return null;
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"'{path}' is not valid JSON: {e.Message}", path, inner: e);
        }
    }

    private static bool? Bool(JsonElement? e, string name) =>
        e is { } o && o.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    // Special tokens appear as plain strings or as AddedToken objects {"content": "..."}.
    private static string? SpecialToken(JsonElement? e, string name)
    {
        if (e is not { } o || !o.TryGetProperty(name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("content", out var c) => c.GetString(),
            _ => null,
        };
    }
}
