namespace MlNetLlm.Tokenization;

/// <summary>
/// A checkpoint folder or file cannot be used as asked. The message names the file and, where one is at fault,
/// the tensor key and both shapes.
/// </summary>
public sealed class CheckpointException : Exception
{
    public CheckpointException(string message, string? path = null, string? key = null, Exception? inner = null)
        : base(message, inner)
    {
        Path = path;
        Key = key;
    }

    /// <summary>The file or folder at fault.</summary>
    public string? Path { get; }

    /// <summary>The tensor key at fault, when there is one.</summary>
    public string? Key { get; }
}
