using Microsoft.ML.OnnxRuntime;
using MlNetLlm.Tokenization;

namespace MlNetLlm.Onnx;

/// <summary>
/// An exported text model ready to run: its manifest, its tokenizer, and an ONNX Runtime session on its graph. Rows are
/// encoded, sorted by length and run in padded batches (results in input order). Thread-safe: ONNX Runtime sessions
/// may run concurrently and encoding keeps no state.
/// </summary>
internal sealed class OnnxTextSession(OnnxTextModelManifest manifest, byte[] graph, IReadOnlyDictionary<string, byte[]> tokenizerFiles, TextTokenizer tokenizer, InferenceSession session, int? threads) : IDisposable
{
    public OnnxTextModelManifest Manifest { get; } = manifest;
    public byte[] Graph { get; } = graph;
    public IReadOnlyDictionary<string, byte[]> TokenizerFiles { get; } = tokenizerFiles;
    public TextTokenizer Tokenizer { get; } = tokenizer;
    public int? Threads { get; } = threads;

    /// <summary>Opens an export folder (<c>mlnetllm-onnx.json</c>, the graph, the tokenizer files); errors name the file.</summary>
    public static OnnxTextSession Open(string folder, int? threads)
    {
        if (File.Exists(folder))
            throw new ArgumentException($"'{folder}' is a file: an exported model is a folder holding {OnnxTextModelManifest.FileName} (written by mlnet-llm export-onnx).");
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Exported model folder '{folder}' does not exist.");
        string manifestPath = Path.Combine(folder, OnnxTextModelManifest.FileName);
        if (!File.Exists(manifestPath))
            throw new FileNotFoundException($"'{folder}' holds no {OnnxTextModelManifest.FileName}: it is not a model exported by mlnet-llm export-onnx.", manifestPath);
        var manifest = OnnxTextModelManifest.Read(File.ReadAllBytes(manifestPath), manifestPath);
        byte[] Required(string name)
        {
            string path = Path.Combine(folder, name);
            return File.Exists(path) ? File.ReadAllBytes(path)
                : throw new FileNotFoundException($"'{folder}' is missing '{name}', which its {OnnxTextModelManifest.FileName} lists.", path);
        }
        var files = manifest.TokenizerFiles.ToDictionary(n => n, Required);
        return Create(manifest, Required(manifest.Graph), files, folder, threads);
    }

    /// <summary>A session from the parts an export folder or a model zip holds; <paramref name="source"/> names them in errors.</summary>
    public static OnnxTextSession Create(OnnxTextModelManifest manifest, byte[] graph, IReadOnlyDictionary<string, byte[]> tokenizerFiles, string source, int? threads)
    {
        if (threads is < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "Threads must be at least 1 (or null for ONNX Runtime's default).");
        var tokenizer = manifest.Tokenizer!.Create(tokenizerFiles, $"the tokenizer files of '{source}'");
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, InterOpNumThreads = 1 };
        if (threads is { } t) options.IntraOpNumThreads = t;
        InferenceSession session;
        try
        {
            session = new InferenceSession(graph, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"The graph of '{source}' cannot be loaded by ONNX Runtime: {e.Message}", e);
        }
        var inputs = session.InputMetadata.Keys.Order(StringComparer.Ordinal).ToList();
        if (!inputs.SequenceEqual(manifest.Inputs.Order(StringComparer.Ordinal)) || !session.OutputMetadata.ContainsKey(manifest.Output))
        {
            string has = $"inputs {string.Join(", ", inputs)}, outputs {string.Join(", ", session.OutputMetadata.Keys)}";
            session.Dispose();
            throw new InvalidDataException($"The graph of '{source}' ({has}) is not the one its manifest describes (inputs {string.Join(", ", manifest.Inputs)}, output {manifest.Output}).");
        }
        return new OnnxTextSession(manifest, graph, tokenizerFiles, tokenizer, session, threads);
    }

    /// <summary>One text (or pair) as the model was trained to read it: special tokens, truncated to the manifest's maximum length.</summary>
    public EncodedText Encode(string text, string? pair = null) => Tokenizer.Encode(text, pair, Manifest.MaxLength);

    /// <summary>The graph's output row for every input, in input order; batches of similar length keep padding small.</summary>
    public float[][] Run(IReadOnlyList<EncodedText> rows, int batchSize)
    {
        var result = new float[rows.Count][];
        var order = Enumerable.Range(0, rows.Count).OrderBy(i => rows[i].Length).ToArray();
        string[] outputNames = [Manifest.Output];
        for (int start = 0; start < order.Length; start += batchSize)
        {
            var idx = order.AsSpan(start, Math.Min(batchSize, order.Length - start)).ToArray();
            var batch = TokenBatch.Pad(idx.Select(i => rows[i]).ToList(), Tokenizer.Special.Padding);
            long[] shape = [batch.BatchSize, batch.SequenceLength];
            var values = Manifest.Inputs.Select(name => OrtValue.CreateTensorValueFromMemory(name switch
            {
                "input_ids" => batch.InputIds,
                "attention_mask" => batch.AttentionMask,
                "token_type_ids" => batch.TokenTypeIds,
                _ => throw new InvalidDataException($"The graph input '{name}' is not one MlNetLlm.Onnx knows how to feed."),
            }, shape)).ToList();
            try
            {
                using var runOptions = new RunOptions();
                using var outputs = session.Run(runOptions, Manifest.Inputs, values, outputNames);
                var flat = outputs[0].GetTensorDataAsSpan<float>();
                int k = flat.Length / idx.Length;
                for (int r = 0; r < idx.Length; r++) result[idx[r]] = flat.Slice(r * k, k).ToArray();
            }
            finally
            {
                foreach (var v in values) v.Dispose();
            }
        }
        return result;
    }

    public void Dispose() => session.Dispose();
}
