using MlNetLlm.Tokenization;
using MlNetLlm.Modeling.Architectures;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Checkpoints;

/// <summary>What loading a checkpoint into an encoder did: the prefix it stripped and the keys it left out (task heads).</summary>
public sealed record EncoderLoadReport(string? StrippedPrefix, IReadOnlyList<string> IgnoredKeys, bool HasPooler);

/// <summary>
/// Builds the encoder a <c>config.json</c> describes and fills it from the folder's safetensors, strictly:
/// a missing key, an unexpected key under an encoder namespace, or a shape that disagrees with config.json is an error
/// naming the key and both shapes. Task-model prefixes (bert., roberta., distilbert.) and heads (classifier, lm_head, cls, ...)
/// are accepted.
/// </summary>
internal static class EncoderCheckpoint
{
    // Buffers some checkpoints saved that the model recomputes: not weights.
    private static readonly string[] DerivedBuffers = ["embeddings.position_ids", "embeddings.token_type_ids"];

    public static TransformerEncoder Create(TransformerConfig config, bool withPooler = true)
    {
        // A new module draws its initial weights from libtorch's one global generator: under the lock a seeded fit holds,
        // so loading a checkpoint on another thread never shifts a seeded run's sequence.
        lock (Training.TrainingLoop.RandomStateLock)
            return config.Family switch
            {
                EncoderFamily.Bert => new BertModel(config, withPooler),
                EncoderFamily.Roberta => new RobertaModel(config, withPooler),
                EncoderFamily.DistilBert => new DistilBertModel(config),
                _ => throw new NotSupportedException(config.Family.ToString()),
            };
    }

    /// <summary>Loads the folder's config.json and weights into a new encoder on the CPU, in eval mode.</summary>
    public static (TransformerEncoder Encoder, EncoderLoadReport Report) Load(string folder) =>
        Load(TransformerConfig.Load(Path.Combine(folder, "config.json")), folder);

    /// <summary>Loads the folder's weights into a new encoder for <paramref name="config"/> (already read from its config.json).</summary>
    public static (TransformerEncoder Encoder, EncoderLoadReport Report) Load(TransformerConfig config, string folder)
    {
        var raw = CheckpointFiles.ReadAll(folder);
        try
        {
            return Load(config, raw, folder);
        }
        finally
        {
            foreach (var t in raw.Values) t.Dispose();
        }
    }

    /// <summary>Fills a new encoder for <paramref name="config"/> from raw checkpoint tensors (which the caller still owns).</summary>
    public static (TransformerEncoder Encoder, EncoderLoadReport Report) Load(TransformerConfig config, IReadOnlyDictionary<string, Tensor> raw, string source)
    {
        var (keys, prefix, ignored) = SelectEncoderKeys(config, raw, source);
        bool hasPooler = keys.Keys.Any(k => k.StartsWith("pooler.", StringComparison.Ordinal));
        var encoder = Create(config, hasPooler);
        try
        {
            StrictStateDict.Copy(encoder, keys, $"Checkpoint '{source}'", source, "config.json", k => Show(prefix, k),
                $"a {config.ModelType} encoder with {config.NumLayers} layers", keyKind: "encoder key");
            encoder.eval();
            return (encoder, new EncoderLoadReport(prefix, ignored, hasPooler));
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Maps raw checkpoint keys to module keys: strips the task prefix, renames legacy LayerNorm gamma/beta,
    /// drops derived buffers, and sets aside keys outside the encoder (heads).
    /// </summary>
    private static (Dictionary<string, Tensor> Keys, string? Prefix, List<string> Ignored) SelectEncoderKeys(
        TransformerConfig config, IReadOnlyDictionary<string, Tensor> raw, string source)
    {
        string[] namespaces = config.Family == EncoderFamily.DistilBert ? ["embeddings", "transformer"] : ["embeddings", "encoder", "pooler"];
        string[] candidatePrefixes = [config.TaskPrefix + ".", "model."];
        string? prefix = candidatePrefixes.FirstOrDefault(p => raw.Keys.Any(k => k.StartsWith(p, StringComparison.Ordinal) && InNamespace(k[p.Length..], namespaces)));

        var keys = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var ignored = new List<string>();
        foreach (var (rawKey, tensor) in raw)
        {
            string k = rawKey;
            if (prefix is not null)
            {
                if (!k.StartsWith(prefix, StringComparison.Ordinal))
                {
                    if (InNamespace(k, namespaces))
                        throw new CheckpointException($"Checkpoint '{source}' mixes prefixed ('{prefix}...') and unprefixed encoder keys ('{k}').", source, k);
                    ignored.Add(rawKey);
                    continue;
                }
                k = k[prefix.Length..];
            }
            if (!InNamespace(k, namespaces) || DerivedBuffers.Contains(k))
            {
                ignored.Add(rawKey);
                continue;
            }
            k = LegacyName(k);
            if (!keys.TryAdd(k, tensor))
                throw new CheckpointException($"Checkpoint '{source}' holds key '{rawKey}' twice (after renaming legacy names).", source, rawKey);
        }
        if (keys.Count == 0)
            throw new CheckpointException(
                $"Checkpoint '{source}' has no {config.ModelType} encoder keys (looked for '{string.Join("', '", namespaces)}' with or without prefix '{config.TaskPrefix}.'); first keys: {string.Join(", ", raw.Keys.Take(5))}.", source);
        return (keys, prefix?.TrimEnd('.'), ignored);
    }

    private static bool InNamespace(string key, string[] namespaces) =>
        namespaces.Any(n => key.StartsWith(n + ".", StringComparison.Ordinal));

    // Early BERT checkpoints named LayerNorm parameters gamma/beta; transformers renames them on load too.
    private static string LegacyName(string key) =>
        key.EndsWith(".gamma", StringComparison.Ordinal) ? key[..^6] + ".weight"
        : key.EndsWith(".beta", StringComparison.Ordinal) ? key[..^5] + ".bias"
        : key;

    private static string Show(string? prefix, string key) => prefix is null ? key : prefix + "." + key;
}
