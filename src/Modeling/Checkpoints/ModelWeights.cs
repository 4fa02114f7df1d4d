using MlNetLlm.Tokenization;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Checkpoints;

/// <summary>Loads weights saved with <see cref="SafeTensorsWriter"/> into a model, strictly.</summary>
internal static class ModelWeights
{
    public static byte[] Save(nn.Module model)
    {
        using var ms = new MemoryStream();
        SafeTensorsWriter.Write(ms, model.state_dict());
        return ms.ToArray();
    }

    /// <summary>Fills <paramref name="model"/> from safetensors bytes (read in memory), strictly.</summary>
    public static void Load(nn.Module model, byte[] safetensors, string entryName)
    {
        try
        {
            using var file = SafeTensorsFile.Open(new MemoryStream(safetensors, writable: false), entryName);
            var tensors = file.Tensors.Keys.ToDictionary(k => k, k => file.Read(k));
            try
            {
                StrictStateDict.Copy(model, tensors, $"Model zip entry '{entryName}'", entryName, "the saved model spec");
            }
            finally
            {
                foreach (var t in tensors.Values) t.Dispose();
            }
        }
        catch (CheckpointException e)
        {
            throw new InvalidDataException($"Model zip entry '{entryName}' does not fit its model: {e.Message}", e);
        }
    }
}
