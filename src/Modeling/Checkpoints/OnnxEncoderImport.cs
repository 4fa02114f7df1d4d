using MlNetLlm.Tokenization;
using System.Security.Cryptography;
using System.Text.Json;
using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Checkpoints;

/// <summary>What an ONNX import found and wrote.</summary>
internal sealed record OnnxImportResult(TransformerConfig Config, bool HasPooler, int Tensors, string SourceSha256, string Folder);

/// <summary>
/// Turns a PyTorch / optimum ONNX export of a Hugging Face BERT-family encoder (BertModel: all-MiniLM, arctic-embed, BERT)
/// into a save_pretrained folder the loader reads: config.json, model.safetensors, vocab.txt, tokenizer_config.json.
/// </summary>
/// <remarks>
/// In such exports embeddings, biases and LayerNorms keep their Hugging Face names, while each Linear weight is an
/// anonymous MatMul initializer stored [in, out] whose output feeds an Add with the named bias: the weight is named after
/// that bias and transposed. The config is read from the tensors (sizes, layer count) and the graph (heads from the
/// attention's Reshape constants, LayerNorm epsilon from the Add before its Sqrt, GELU from Erf): nothing is guessed.
/// The result is checked by loading it strictly into the encoder the inferred config describes.
/// </remarks>
internal static class OnnxEncoderImport
{
    internal const int OnnxFloat = 1, OnnxInt64 = 7, OnnxInt32 = 6;

    /// <summary>Imports <paramref name="onnxPath"/> with the WordPiece vocabulary <paramref name="vocabPath"/> into <paramref name="outputFolder"/>.</summary>
    /// <param name="lowerCase">do_lower_case for the tokenizer; null: true when the vocabulary has no upper-case token (an uncased model).</param>
    public static OnnxImportResult ImportToFolder(string onnxPath, string vocabPath, string outputFolder, bool? lowerCase = null)
    {
        if (!File.Exists(onnxPath))
            throw new CheckpointException($"ONNX file '{onnxPath}' does not exist.", onnxPath);
        if (!File.Exists(vocabPath))
            throw new CheckpointException($"Vocabulary file '{vocabPath}' does not exist (import-onnx needs the model's vocab.txt).", vocabPath);
        using var onnx = File.OpenRead(onnxPath);
        using var vocab = File.OpenRead(vocabPath);
        return Import(onnx, onnxPath, vocab, vocabPath, outputFolder, lowerCase, Path.GetDirectoryName(Path.GetFullPath(onnxPath)));
    }

    /// <summary>Imports from streams (for example manifest resources); <paramref name="source"/> names the model in errors.</summary>
    public static OnnxImportResult Import(Stream onnx, string source, Stream vocab, string vocabSource, string outputFolder,
        bool? lowerCase = null, string? externalDataFolder = null)
    {
        byte[] bytes = ReadAll(onnx);
        string sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new CheckpointException($"'{source}' is not a readable ONNX model: {e.Message}", source, inner: e);
        }
        if (model.Graph is null || model.Graph.Initializer.Count == 0)
            throw new CheckpointException($"'{source}' is not a readable ONNX model: it has no graph with initializers.", source);

        var vocabLines = ReadVocab(vocab, vocabSource);
        var graph = new OnnxGraph(model.Graph, source, externalDataFolder);
        var (config, tensors) = Extract(graph, source, vocabLines);
        try
        {
            bool hasPooler = tensors.Keys.Any(k => k.StartsWith("pooler.", StringComparison.Ordinal));
            // Strict load into the encoder the config describes: a missing or misshapen tensor fails here, naming the ONNX file and key.
            var (encoder, _) = EncoderCheckpoint.Load(config, tensors, source);
            encoder.Dispose();
            Write(outputFolder, config, tensors, vocabLines, lowerCase ?? !vocabLines.Any(HasUpperCaseWord),
                new Dictionary<string, string> { ["source"] = Path.GetFileName(source), ["source_sha256"] = sha, ["producer"] = $"{model.ProducerName} {model.ProducerVersion}".Trim() });
            return new OnnxImportResult(config, hasPooler, tensors.Count, sha, outputFolder);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    private static (TransformerConfig, Dictionary<string, Tensor>) Extract(OnnxGraph g, string source, List<string> vocab)
    {
        var named = g.Initializers.Keys.ToList();
        string? prefix = named.Any(n => n.StartsWith("bert.embeddings.", StringComparison.Ordinal)) ? "bert." : null;
        string word = (prefix ?? "") + "embeddings.word_embeddings.weight";
        if (!g.Initializers.ContainsKey(word))
        {
            string hint = named.Any(n => n.Contains("transformer.layer.", StringComparison.Ordinal)) ? " It looks like a DistilBERT export, which import-onnx does not read yet."
                : g.Nodes.Any(n => n.OpType == "CumSum") ? " It computes RoBERTa-style position ids, which import-onnx does not read yet."
                : "";
            throw new CheckpointException(
                $"'{source}' is not an ONNX export of a Hugging Face BERT-family encoder: it has no initializer '{word}' (first initializers: {string.Join(", ", named.Take(5))}).{hint}",
                source, word);
        }

        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            // Named float initializers are Hugging Face parameters already (the position_ids buffer is recomputed by the model).
            foreach (var name in named)
            {
                var t = g.Initializers[name];
                if (t.DataType != OnnxFloat || !IsParameterName(name) || name.EndsWith("position_ids", StringComparison.Ordinal)) continue;
                tensors[Strip(name, prefix)] = g.ToTensor(t);
            }
            // Anonymous MatMul weights: named after the bias their product is added to, and transposed to [out, in].
            foreach (var mm in g.Nodes.Where(n => n.OpType == "MatMul"))
            {
                string w = mm.Input[1];
                if (!g.Initializers.TryGetValue(w, out var wt) || IsParameterName(w)) continue;
                var add = g.Consumers(mm.Output[0]).FirstOrDefault(n => n.OpType == "Add");
                string? bias = add?.Input.FirstOrDefault(i => i != mm.Output[0]);
                if (bias is not null && g.Producer(bias) is null && !g.Initializers.ContainsKey(bias))
                    throw new CheckpointException(
                        $"'{source}': MatMul weight '{w}' is added to '{bias}', which is neither an initializer nor a node output: the bias tensor is missing.",
                        source, bias);
                if (bias is null || !bias.EndsWith(".bias", StringComparison.Ordinal) || !g.Initializers.ContainsKey(bias))
                    throw new CheckpointException(
                        $"'{source}': MatMul weight '{w}' (shape [{string.Join(", ", wt.Dims)}]) is not followed by an Add with a named '*.bias' initializer, so its Hugging Face name cannot be recovered.",
                        source, w);
                string key = Strip(bias[..^".bias".Length] + ".weight", prefix);
                using var raw = g.ToTensor(wt);
                if (!tensors.TryAdd(key, raw.t().contiguous()))
                    throw new CheckpointException($"'{source}': two MatMul weights would both be '{key}'.", source, key);
            }
            foreach (var bias in named.Where(n => n.EndsWith(".bias", StringComparison.Ordinal) && !n.Contains("LayerNorm", StringComparison.Ordinal)))
            {
                string key = Strip(bias[..^".bias".Length] + ".weight", prefix);
                if (!tensors.ContainsKey(key))
                    throw new CheckpointException($"'{source}': bias '{bias}' has no weight: no MatMul adds into it and no initializer '{key}' exists.", source, bias);
            }

            var config = InferConfig(g, tensors, source, vocab);
            return (config, tensors);
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
    }

    private static TransformerConfig InferConfig(OnnxGraph g, Dictionary<string, Tensor> tensors, string source, List<string> vocab)
    {
        long[] Shape(string key) => tensors.TryGetValue(key, out var t) ? t.shape
            : throw new CheckpointException($"'{source}' has no tensor '{key}', which a BERT encoder export must have.", source, key);

        var wordShape = Shape("embeddings.word_embeddings.weight");
        int hidden = (int)wordShape[1];
        int layers = tensors.Keys
            .Select(k => k.StartsWith("encoder.layer.", StringComparison.Ordinal) && int.TryParse(k.Split('.')[2], out int i) ? i + 1 : 0)
            .DefaultIfEmpty(0).Max();
        if (layers == 0)
            throw new CheckpointException($"'{source}' has no 'encoder.layer.N.*' tensors: not an encoder export.", source, "encoder.layer.0");
        int heads = InferHeads(g, hidden, source);
        if (vocab.Count != wordShape[0])
            throw new CheckpointException(
                $"The vocabulary has {vocab.Count} tokens but '{source}' has {wordShape[0]} word embeddings (embeddings.word_embeddings.weight [{wordShape[0]}, {hidden}]): they are not the same model's.",
                source, "embeddings.word_embeddings.weight");
        int pad = vocab.IndexOf("[PAD]");
        var config = new TransformerConfig
        {
            ModelType = "bert",
            Family = EncoderFamily.Bert,
            VocabSize = (int)wordShape[0],
            HiddenSize = hidden,
            NumLayers = layers,
            NumHeads = heads,
            IntermediateSize = (int)Shape("encoder.layer.0.intermediate.dense.weight")[0],
            HiddenAct = g.Nodes.Any(n => n.OpType == "Erf") ? "gelu" : g.Nodes.Any(n => n.OpType == "Tanh" && n.Output.Any(o => g.Consumers(o).Any())) ? "gelu_new" : "gelu",
            MaxPositionEmbeddings = (int)Shape("embeddings.position_embeddings.weight")[0],
            TypeVocabSize = tensors.TryGetValue("embeddings.token_type_embeddings.weight", out var tt) ? (int)tt.shape[0] : 0,
            LayerNormEps = InferLayerNormEps(g) ?? 1e-12,
            PadTokenId = pad < 0 ? 0 : pad,
        };
        config.Validate(source);
        return config;
    }

    /// <summary>The attention reshapes [batch, seq, heads, head_dim]: heads is the known value whose product with the next is the hidden size.</summary>
    private static int InferHeads(OnnxGraph g, int hidden, string source)
    {
        var votes = new Dictionary<int, int>();
        foreach (var reshape in g.Nodes.Where(n => n.OpType == "Reshape" && n.Input.Count > 1))
        {
            var shape = g.ResolveInts(reshape.Input[1]);
            if (shape is not { Length: 4 } || shape[2] <= 0 || shape[3] <= 0 || shape[2] * shape[3] != hidden) continue;
            votes[(int)shape[2]] = votes.GetValueOrDefault((int)shape[2]) + 1;
        }
        if (votes.Count == 0)
            throw new CheckpointException(
                $"'{source}': no attention Reshape to [batch, seq, heads, head_dim] with heads x head_dim = {hidden} was found, so the number of attention heads is unknown.", source);
        if (votes.Count > 1)
            throw new CheckpointException($"'{source}': the attention Reshapes disagree on the number of heads ({string.Join(", ", votes.Keys)}).", source);
        return votes.Keys.Single();
    }

    /// <summary>A decomposed LayerNorm adds epsilon to the variance right before Sqrt.</summary>
    private static double? InferLayerNormEps(OnnxGraph g)
    {
        foreach (var sqrt in g.Nodes.Where(n => n.OpType == "Sqrt"))
        {
            var add = g.Producer(sqrt.Input[0]);
            if (add?.OpType != "Add") continue;
            foreach (var input in add.Input)
                if (g.ResolveFloats(input) is [var eps] && eps > 0 && eps < 1e-3) return Math.Round(eps, 15);
        }
        return null;
    }

    private static void Write(string folder, TransformerConfig c, Dictionary<string, Tensor> tensors, List<string> vocab, bool lowerCase,
        IReadOnlyDictionary<string, string> metadata)
    {
        Directory.CreateDirectory(folder);
        SafeTensorsWriter.Write(Path.Combine(folder, CheckpointFiles.SingleFile), tensors, metadata);
        var config = new Dictionary<string, object>
        {
            ["architectures"] = new[] { "BertModel" },
            ["model_type"] = c.ModelType,
            ["vocab_size"] = c.VocabSize,
            ["hidden_size"] = c.HiddenSize,
            ["num_hidden_layers"] = c.NumLayers,
            ["num_attention_heads"] = c.NumHeads,
            ["intermediate_size"] = c.IntermediateSize,
            ["hidden_act"] = c.HiddenAct,
            ["max_position_embeddings"] = c.MaxPositionEmbeddings,
            ["type_vocab_size"] = c.TypeVocabSize,
            ["layer_norm_eps"] = c.LayerNormEps,
            ["pad_token_id"] = c.PadTokenId,
            ["hidden_dropout_prob"] = 0.1,
            ["attention_probs_dropout_prob"] = 0.1,
        };
        var json = new JsonSerializerOptions { WriteIndented = true };
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(config, json));
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"),
            JsonSerializer.Serialize(new Dictionary<string, object> { ["do_lower_case"] = lowerCase, ["model_max_length"] = c.MaxPositionEmbeddings, ["tokenizer_class"] = "BertTokenizer" }, json));
        File.WriteAllText(Path.Combine(folder, "vocab.txt"), string.Join("\n", vocab) + "\n");
        File.WriteAllText(Path.Combine(folder, "import.json"), JsonSerializer.Serialize(metadata, json));
    }

    // Vocab files come with LF or CRLF line endings (the bundled ones are CRLF); the token is the line without either.
    private static List<string> ReadVocab(Stream vocab, string source)
    {
        using var reader = new StreamReader(vocab);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line);
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        if (lines.Count == 0)
            throw new CheckpointException($"Vocabulary '{source}' is empty.", source);
        return lines;
    }

    private static bool HasUpperCaseWord(string token) =>
        !(token.StartsWith('[') && token.EndsWith(']')) && token.Any(char.IsUpper);

    private static bool IsParameterName(string name) =>
        name.EndsWith(".weight", StringComparison.Ordinal) || name.EndsWith(".bias", StringComparison.Ordinal) || name.EndsWith("position_ids", StringComparison.Ordinal);

    private static string Strip(string name, string? prefix) =>
        prefix is not null && name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name;

    private static byte[] ReadAll(Stream s)
    {
        if (s is MemoryStream m && m.TryGetBuffer(out var seg) && seg.Offset == 0 && seg.Count == m.Length) return seg.Array!;
        using var ms = new MemoryStream(s.CanSeek ? (int)Math.Min(int.MaxValue, s.Length) : 0);
        s.CopyTo(ms);
        return ms.ToArray();
    }
}
