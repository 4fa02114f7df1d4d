namespace MlNetLlm.Cli.Commands;

/// <summary>
/// Where a command writes: never onto one of its inputs, and never half a file. Outputs are written to a temporary
/// file in the same folder and renamed over the target only when complete.
/// </summary>
internal static class OutputFiles
{
    /// <summary>Refuses an output that is (or resolves to) one of the inputs, or is a directory.</summary>
    public static void Check(string outputOption, string output, params (string Option, string? Path)[] inputs)
    {
        if (Directory.Exists(output))
            throw new ArgumentException($"{outputOption} '{output}' is a directory: give a file name.");
        string target = Resolve(output);
        foreach (var (option, path) in inputs)
            if (path is not null && (File.Exists(path) || Directory.Exists(path)) && Resolve(path) == target)
                throw new ArgumentException($"{outputOption} '{output}' is the same file as {option} '{path}': writing it would destroy the input. Choose another output.");
    }

    /// <summary>Runs <paramref name="write"/> on a temporary path beside <paramref name="path"/>, then renames it into place.</summary>
    public static void WriteAtomically(string path, Action<string> write)
    {
        string full = Path.GetFullPath(path);
        string? folder = Path.GetDirectoryName(full);
        if (folder is not null) Directory.CreateDirectory(folder);
        string temp = Path.Combine(folder ?? ".", $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.part");
        try
        {
            write(temp);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private static string Resolve(string path)
    {
        var info = new FileInfo(Path.GetFullPath(path));
        return (info.Exists ? info.ResolveLinkTarget(returnFinalTarget: true)?.FullName : null) ?? info.FullName;
    }
}
