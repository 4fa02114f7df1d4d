using System.Text.Json;
using MlNetLlm.Modeling.Checkpoints;

namespace MlNetLlm.Modeling.Tokenization;

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

/// <summary>Finds and loads the tokenizer files of a Hugging Face model folder for its model_type.</summary>
public static class TokenizerLoader
{
    public const TokenizerGeneration Current = TokenizerGeneration.HuggingFace;

    public static TextTokenizer Load(string folder, TransformerConfig config, TokenizerGeneration generation = Current)
    {
        bool legacyWordPiece = generation == TokenizerGeneration.MicrosoftMlTokenizers;
        // Most current Hugging Face repositories ship only the fast tokenizer's tokenizer.json.
        if (!HasSlowTokenizerFiles(folder, config.ModelType) && File.Exists(Path.Combine(folder, TokenizerJson.FileName)))
            return TokenizerJson.Load(Path.Combine(folder, TokenizerJson.FileName), ModelMaxLength(config, ReadTokenizerConfig(folder)));
        var tc = ReadTokenizerConfig(folder);
        var specials = new TokenizerSpecialTokens(
            SpecialToken(tc, "cls_token") ?? SpecialToken(tc, "bos_token"),
            SpecialToken(tc, "sep_token") ?? SpecialToken(tc, "eos_token"),
            SpecialToken(tc, "pad_token"),
            SpecialToken(tc, "unk_token"),
            SpecialToken(tc, "mask_token"));
        int maxLength = ModelMaxLength(config, tc);
        try
        {
            switch (config.ModelType)
            {
                case "bert":
                case "distilbert":
                    return legacyWordPiece
                        ? LegacyWordPieceTextTokenizer.Create(
                            Require(folder, config, "vocab.txt"),
                            lowerCase: Bool(tc, "do_lower_case") ?? true,
                            stripAccents: Bool(tc, "strip_accents"),
                            tokenizeChineseChars: Bool(tc, "tokenize_chinese_chars") ?? true,
                            modelMaxLength: maxLength,
                            specials: specials)
                        : WordPieceTextTokenizer.Create(
                        Require(folder, config, "vocab.txt"),
                        lowerCase: Bool(tc, "do_lower_case") ?? true,
                        stripAccents: Bool(tc, "strip_accents"),
                        tokenizeChineseChars: Bool(tc, "tokenize_chinese_chars") ?? true,
                        modelMaxLength: maxLength,
                        specials: specials);
                case "roberta":
                case "camembert" when File.Exists(Path.Combine(folder, "vocab.json")):
                    return ByteLevelBpeTextTokenizer.Create(
                        Require(folder, config, "vocab.json"), Require(folder, config, "merges.txt"), maxLength, specials);
                case "xlm-roberta":
                case "camembert":
                    string spm = Require(folder, config, "sentencepiece.bpe.model");
                    // Real XLM-R ships a Unigram model: run it as transformers' converted fast tokenizer does. CamemBERT's
                    // conversion differs and BPE-type models have no such conversion here: those keep Microsoft.ML.Tokenizers.
                    if (generation == TokenizerGeneration.HuggingFace && config.ModelType == "xlm-roberta"
                        && SentencePieceModelFile.Read(spm) is { Model: SentencePieceModelFile.ModelType.Unigram } unigram)
                        return UnigramTextTokenizer.FromXlmRobertaModel(unigram, maxLength);
                    return XlmRobertaTextTokenizer.Create(spm, maxLength);
                default:
                    throw new CheckpointException($"No tokenizer is known for model_type \"{config.ModelType}\" in '{folder}'.", folder);
            }
        }
        catch (Exception e) when (e is not CheckpointException)
        {
            throw new CheckpointException($"The tokenizer files in '{folder}' could not be read: {e.Message}", folder, inner: e);
        }
    }

    /// <summary>The files of <paramref name="folder"/> a tokenizer can be rebuilt from (stored in model zips), by name.</summary>
    public static Dictionary<string, byte[]> ReadFiles(string folder)
    {
        string[] names = ["config.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "sentencepiece.bpe.model", "tokenizer.json"];
        return names.Select(n => Path.Combine(folder, n)).Where(File.Exists).ToDictionary(n => Path.GetFileName(n), File.ReadAllBytes);
    }

    private static bool HasSlowTokenizerFiles(string folder, string modelType) => modelType switch
    {
        "bert" or "distilbert" => File.Exists(Path.Combine(folder, "vocab.txt")),
        "roberta" => File.Exists(Path.Combine(folder, "vocab.json")) && File.Exists(Path.Combine(folder, "merges.txt")),
        _ => File.Exists(Path.Combine(folder, "sentencepiece.bpe.model")) || File.Exists(Path.Combine(folder, "vocab.json")),
    };

    private static string Require(string folder, TransformerConfig config, string file)
    {
        string path = Path.Combine(folder, file);
        if (File.Exists(path)) return path;
        throw new CheckpointException(
            $"Tokenizer file '{file}' is missing from '{folder}': a {config.ModelType} checkpoint needs {NeededFiles(config.ModelType)}, or a tokenizer.json.", path);
    }

    public static string NeededFiles(string modelType) => modelType switch
    {
        "bert" or "distilbert" => "vocab.txt (and optionally tokenizer_config.json)",
        "roberta" => "vocab.json and merges.txt",
        _ => "sentencepiece.bpe.model",
    };

    private static int ModelMaxLength(TransformerConfig config, JsonElement? tc)
    {
        // RoBERTa's table reserves padding_idx + 1 leading positions.
        int fromPositions = config.Family == EncoderFamily.Roberta
            ? config.MaxPositionEmbeddings - config.PadTokenId - 1
            : config.MaxPositionEmbeddings;
        if (tc is { } t && t.TryGetProperty("model_max_length", out var m) && m.ValueKind == JsonValueKind.Number
            && m.TryGetDouble(out double v) && v > 0 && v < fromPositions)
            return (int)v;
        return fromPositions;
    }

    private static JsonElement? ReadTokenizerConfig(string folder)
    {
        string path = Path.Combine(folder, "tokenizer_config.json");
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
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
