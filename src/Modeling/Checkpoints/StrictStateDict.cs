using MlNetLlm.Tokenization;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Checkpoints;

/// <summary>
/// The one strict loader: every parameter and buffer of a module must be in the source with its exact shape, and the
/// source may hold nothing else. Errors name the source, the first key at fault, and what implied the shape.
/// </summary>
internal static class StrictStateDict
{
    /// <param name="source">How errors name where the tensors came from ("Checkpoint 'DIR'", "Model zip entry 'X'").</param>
    /// <param name="shapesFrom">What the module's shapes come from, for shape errors ("config.json").</param>
    /// <param name="showKey">How a module key is shown (e.g. with the checkpoint's task prefix put back).</param>
    public static void Copy(nn.Module module, IReadOnlyDictionary<string, Tensor> tensors, string source, string sourcePath, string shapesFrom,
        Func<string, string>? showKey = null, string? moduleDescription = null, string keyKind = "key")
    {
        showKey ??= k => k;
        var expected = module.state_dict();
        var missing = expected.Keys.Where(k => !tensors.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new CheckpointException(
                $"{source} is missing {keyKind} '{showKey(missing[0])}'" +
                (missing.Count > 1 ? $" and {missing.Count - 1} more ({string.Join(", ", missing.Skip(1).Take(5).Select(showKey))}{(missing.Count > 6 ? ", ..." : "")})" : "") + ".",
                sourcePath, showKey(missing[0]));
        var unexpected = tensors.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        if (unexpected.Count > 0)
            throw new CheckpointException(
                $"{source} has unexpected {keyKind} '{showKey(unexpected[0])}' (shape [{string.Join(", ", tensors[unexpected[0]].shape)}])" +
                (moduleDescription is null ? "." : $" that {moduleDescription} does not have."), sourcePath, showKey(unexpected[0]));
        foreach (var (k, param) in expected)
        {
            var got = tensors[k];
            if (!got.shape.SequenceEqual(param.shape))
                throw new CheckpointException(
                    $"{source}: tensor '{showKey(k)}' has shape [{string.Join(", ", got.shape)}] but {shapesFrom} implies [{string.Join(", ", param.shape)}].",
                    sourcePath, showKey(k));
        }
        using (no_grad())
        {
            foreach (var (k, param) in expected)
                param.copy_(tensors[k]);
        }
    }
}
