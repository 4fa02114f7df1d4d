using System.Text.Json;

namespace MlNetLlm.TestSupport;

/// <summary>Paths to the committed fixtures (copied next to the test assembly by the project file).</summary>
public static class Fixtures
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "fixtures");
    public static string Checkpoint(string name) => Path.Combine(Root, "checkpoints", name);
    public static string Broken(string name) => Path.Combine(Root, "broken", name);
    public static string BertVocab => Path.Combine(Root, "vocab", "bert-base-uncased-vocab.txt");

    /// <summary>A fresh temporary folder, removed when disposed.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("mlnetllm-test-").FullName;
        public string File(string name) => System.IO.Path.Combine(Path, name);
        public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
    }

    /// <summary>Copies a fixture checkpoint folder into <paramref name="dir"/> so a test may damage its copy.</summary>
    public static string CopyCheckpoint(string name, TempDir dir)
    {
        string target = System.IO.Path.Combine(dir.Path, name);
        Directory.CreateDirectory(target);
        foreach (var f in Directory.GetFiles(Checkpoint(name)))
            File.Copy(f, System.IO.Path.Combine(target, System.IO.Path.GetFileName(f)));
        return target;
    }
}

/// <summary>reference.json written by tests/reference/make_fixtures.py.</summary>
public sealed class ReferenceOutputs
{
    public required string[] Texts { get; init; }
    public string?[]? TextPairs { get; init; }
    public required long[][] InputIds { get; init; }
    public required long[][] AttentionMask { get; init; }
    public long[][]? TokenTypeIds { get; init; }
    public int[][]? ExpectedIds { get; init; }
    public required float[][][] LastHiddenState { get; init; }
    public float[][]? PoolerOutput { get; init; }

    public static ReferenceOutputs Load(string checkpointFolder)
    {
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        return JsonSerializer.Deserialize<ReferenceOutputs>(File.ReadAllBytes(Path.Combine(checkpointFolder, "reference.json")), options)
               ?? throw new InvalidDataException("empty reference.json");
    }
}
