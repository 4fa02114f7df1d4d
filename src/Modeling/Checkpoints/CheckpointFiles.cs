using MlNetLlm.Tokenization;
using System.Text.Json;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Checkpoints;

/// <summary>
/// The weight files of a Hugging Face model folder: <c>model.safetensors</c>, or shards listed by
/// <c>model.safetensors.index.json</c>.
/// </summary>
internal static class CheckpointFiles
{
    public const string SingleFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    /// <summary>Reads every tensor of the folder's checkpoint onto the CPU (floating point as fp32).</summary>
    public static Dictionary<string, Tensor> ReadAll(string folder)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (file, names) in WeightMap(folder))
            {
                using var st = SafeTensorsFile.Open(file);
                foreach (var name in names ?? st.Tensors.Keys.ToList())
                {
                    if (!st.Tensors.ContainsKey(name))
                        throw new CheckpointException(
                            $"'{Path.Combine(folder, IndexFile)}' maps tensor '{name}' to '{Path.GetFileName(file)}', but that file does not contain it.", file, name);
                    if (result.ContainsKey(name))
                        throw new CheckpointException($"Tensor '{name}' appears in more than one shard of '{folder}'.", file, name);
                    result[name] = st.Read(name);
                }
            }
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    /// <summary>File → tensor names to take from it (null: all of them).</summary>
    private static IEnumerable<(string File, List<string>? Names)> WeightMap(string folder)
    {
        if (!Directory.Exists(folder))
            throw new CheckpointException($"Checkpoint folder '{folder}' does not exist.", folder);
        string single = Path.Combine(folder, SingleFile);
        string index = Path.Combine(folder, IndexFile);
        if (File.Exists(single))
            return [(single, null)];
        if (File.Exists(index))
            return ReadIndex(folder, index);
        string hint = File.Exists(Path.Combine(folder, "pytorch_model.bin"))
            ? " It has pytorch_model.bin (a pickle): convert it once with `safetensors.torch.save_file(torch.load(...), 'model.safetensors')` or `model.save_pretrained(dir, safe_serialization=True)`."
            : "";
        throw new CheckpointException($"Checkpoint folder '{folder}' has neither {SingleFile} nor {IndexFile}.{hint}", folder);
    }

    private static List<(string, List<string>?)> ReadIndex(string folder, string indexPath)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            var byFile = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (var entry in doc.RootElement.GetProperty("weight_map").EnumerateObject())
            {
                string shard = entry.Value.GetString() ?? throw new FormatException($"entry '{entry.Name}' is not a file name");
                string shardPath = Path.Combine(folder, shard);
                if (!File.Exists(shardPath))
                    throw new CheckpointException($"'{indexPath}' names shard '{shard}' for tensor '{entry.Name}', but that file is missing.", shardPath, entry.Name);
                if (!byFile.TryGetValue(shardPath, out var list)) byFile[shardPath] = list = new List<string>();
                list.Add(entry.Name);
            }
            return byFile.Select(kv => (kv.Key, (List<string>?)kv.Value)).ToList();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new CheckpointException($"Shard index '{indexPath}' is malformed: {e.Message}", indexPath, inner: e);
        }
    }
}
