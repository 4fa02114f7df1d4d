using System.Text.Json;
using System.Text.Json.Nodes;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Tokenization;
using MlNetLlm.Modeling.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Pretraining;

/// <summary>
/// The model a pretraining run trains, with what its output folder needs besides the weights: config.json (the
/// source's, naming the masked-LM architecture) and the tokenizer files. Built from a checkpoint (its head kept when
/// it has one, else a new head), from scratch, or from the run's own folder when it resumes.
/// </summary>
internal sealed class PretrainingModel(MaskedLanguageModel model, TextTokenizer tokenizer, Dictionary<string, byte[]> tokenizerFiles, byte[] configJson, string description) : IDisposable
{
    public MaskedLanguageModel Model { get; } = model;
    public TextTokenizer Tokenizer { get; } = tokenizer;
    /// <summary>Tokenizer files by name (config.json excluded), written beside the weights.</summary>
    public IReadOnlyDictionary<string, byte[]> TokenizerFiles { get; } = tokenizerFiles;
    public byte[] ConfigJson { get; } = configJson;
    /// <summary>What was loaded, for logs ("minilm (a new head)", "a bert from scratch (2 layers, hidden 128)").</summary>
    public string Description { get; } = description;

    /// <summary>Loads a checkpoint folder (a bundled name already resolved) with its head, or a new one.</summary>
    public static PretrainingModel FromCheckpoint(string folder, string name)
    {
        var config = TransformerConfig.Load(Path.Combine(folder, "config.json"));
        byte[] configJson = File.ReadAllBytes(Path.Combine(folder, "config.json"));
        var node = JsonNode.Parse(configJson)!.AsObject();
        if (node["tie_word_embeddings"] is JsonValue tie && tie.TryGetValue(out bool tied) && !tied)
            throw new CheckpointException($"Checkpoint '{name}' says tie_word_embeddings: false; masked-LM training here ties the decoder to the word embeddings, as BERT does.", folder);
        var files = TokenizerLoader.ReadFiles(folder);
        files.Remove("config.json");
        var tokenizer = TokenizerLoader.Load(files, config, TokenizerLoader.Current, folder);
        var raw = CheckpointFiles.ReadAll(folder);
        try
        {
            var (model, headFound, _) = MaskedLanguageModel.Load(config, raw, folder);
            node["architectures"] = new JsonArray(model.Layout.Architecture);
            var json = JsonSerializer.SerializeToUtf8Bytes(node, new JsonSerializerOptions { WriteIndented = true });
            return new PretrainingModel(model, tokenizer, files, json, $"{name} ({config.ModelType}, {config.NumLayers} layers, hidden {config.HiddenSize}; {(headFound ? "its masked-LM head" : "a new masked-LM head")})");
        }
        finally
        {
            foreach (var t in raw.Values) t.Dispose();
        }
    }

    /// <summary>A new BERT of the options' shape, initialised as BERT is (N(0, 0.02), LayerNorm 1 / 0), with the
    /// tokenizer of <see cref="MaskedLmOptions.TokenizerPath"/> or a word vocabulary built from <paramref name="texts"/>.
    /// Draws from torch's generator: seed it first.</summary>
    public static PretrainingModel FromScratch(MaskedLmOptions o, IReadOnlyList<string> texts)
    {
        Dictionary<string, byte[]> files;
        int vocabSize;
        string tokenizerSource;
        if (o.TokenizerPath is { } path)
        {
            string folder = CheckpointLocator.Resolve(path);
            var source = TransformerConfig.Load(Path.Combine(folder, "config.json"));
            if (source.Family != EncoderFamily.Bert && source.ModelType != "distilbert")
                throw new ArgumentException($"MaskedLmOptions.TokenizerPath '{path}' is a {source.ModelType} checkpoint; a model from scratch is a BERT and takes a BERT-family (WordPiece) tokenizer.");
            files = TokenizerLoader.ReadFiles(folder);
            files.Remove("config.json");
            vocabSize = source.VocabSize;
            tokenizerSource = $"the tokenizer of {path}";
        }
        else
        {
            var vocab = WordVocabulary.Build(texts, o.MaxVocabularySize, o.MinWordCount);
            files = new Dictionary<string, byte[]>
            {
                ["vocab.txt"] = WordVocabulary.ToBytes(vocab),
                ["tokenizer_config.json"] = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
                    { ["do_lower_case"] = true, ["model_max_length"] = o.MaxLength, ["tokenizer_class"] = "BertTokenizer" }),
            };
            vocabSize = vocab.Count;
            tokenizerSource = $"a word vocabulary of {vocab.Count} from the text";
        }
        var provisional = Config(o, vocabSize, padId: 0);
        var tokenizer = TokenizerLoader.Load(files, provisional, TokenizerLoader.Current, "the pretraining tokenizer");
        var config = provisional with { PadTokenId = tokenizer.Special.Padding };
        config.Validate("MaskedLmOptions");
        var encoder = EncoderCheckpoint.Create(config, withPooler: false);
        InitializeLikeBert(encoder, config.PadTokenId);
        var model = MaskedLanguageModel.WithNewHead(encoder);
        return new PretrainingModel(model, tokenizer, files, BuildConfigJson(config, model.Layout.Architecture),
            $"a BERT from scratch ({config.NumLayers} layers, hidden {config.HiddenSize}, {config.NumHeads} heads; {tokenizerSource})");
    }

    private static TransformerConfig Config(MaskedLmOptions o, int vocabSize, int padId) => new()
    {
        ModelType = "bert", Family = EncoderFamily.Bert, VocabSize = vocabSize, HiddenSize = o.HiddenSize, NumLayers = o.Layers, NumHeads = o.Heads,
        IntermediateSize = o.IntermediateSize ?? 4 * o.HiddenSize, MaxPositionEmbeddings = o.MaxLength, TypeVocabSize = 2, PadTokenId = padId,
        HiddenDropout = o.Dropout, AttentionDropout = o.Dropout,
    };

    private static byte[] BuildConfigJson(TransformerConfig c, string architecture) => JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
    {
        ["architectures"] = new[] { architecture }, ["model_type"] = c.ModelType, ["vocab_size"] = c.VocabSize, ["hidden_size"] = c.HiddenSize,
        ["num_hidden_layers"] = c.NumLayers, ["num_attention_heads"] = c.NumHeads, ["intermediate_size"] = c.IntermediateSize, ["hidden_act"] = c.HiddenAct,
        ["max_position_embeddings"] = c.MaxPositionEmbeddings, ["type_vocab_size"] = c.TypeVocabSize, ["layer_norm_eps"] = c.LayerNormEps,
        ["pad_token_id"] = c.PadTokenId, ["hidden_dropout_prob"] = c.HiddenDropout, ["attention_probs_dropout_prob"] = c.AttentionDropout,
        ["initializer_range"] = 0.02, ["tie_word_embeddings"] = true,
    }, new JsonSerializerOptions { WriteIndented = true });

    /// <summary>BERT's initialisation (transformers' _init_weights with initializer_range 0.02).</summary>
    public static void InitializeLikeBert(nn.Module module, int padId, double std = 0.02)
    {
        using var noGrad = no_grad();
        foreach (var (_, m) in module.named_modules())
        {
            switch (m)
            {
                case Linear l:
                    l.weight!.normal_(0, std);
                    l.bias?.zero_();
                    break;
                case Embedding e:
                    e.weight!.normal_(0, std);
                    break;
                case LayerNorm n:
                    n.weight!.fill_(1);
                    n.bias!.zero_();
                    break;
            }
        }
        // The padding row of the word embeddings starts at zero, as nn.Embedding(padding_idx) makes it.
        foreach (var (name, p) in module.named_parameters())
            if (name.EndsWith("word_embeddings.weight", StringComparison.Ordinal) && padId >= 0 && padId < p.shape[0]) p[padId].zero_();
    }

    public void Dispose() => Model.Dispose();
}
