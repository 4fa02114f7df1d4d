using System.Runtime.CompilerServices;
using System.Text;
using LLama;
using LLama.Common;
using LLama.Sampling;
using Microsoft.Extensions.AI;

namespace MlNetLlm.LlmClients;

/// <summary>
/// A local GGUF model (llama.cpp through LLamaSharp, CPU backend) as an <see cref="IChatClient"/>. A JSON-schema
/// response format becomes a GBNF grammar (<see cref="JsonSchemaGrammar"/>), so the sampler can only produce
/// replies of that shape; plain JSON format gets a generic JSON-object grammar. Each request runs stateless on a
/// fresh context. The model's own chat template is used when the file has one, a plain role-prefixed prompt otherwise.
/// </summary>
public sealed class GgufChatClient : IChatClient
{
    private readonly LLamaWeights _weights;
    private readonly ModelParams _parameters;
    private readonly int _maxTokens;
    private readonly SemaphoreSlim _gate = new(1, 1); // one generation at a time per loaded model
    public string ModelPath { get; }
    public ChatClientMetadata Metadata { get; }

    private GgufChatClient(string path, LLamaWeights weights, ModelParams parameters, int maxTokens)
    {
        ModelPath = path;
        _weights = weights;
        _parameters = parameters;
        _maxTokens = maxTokens;
        Metadata = new ChatClientMetadata("llamasharp", new Uri(Path.GetFullPath(path)), Path.GetFileName(path));
    }

    /// <summary>Loads <paramref name="path"/>; a missing file, a file that is not GGUF, or one llama.cpp refuses is named in the error.</summary>
    public static GgufChatClient Load(string path, int contextSize = 4096, int maxTokens = 2048)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"GGUF model '{path}' does not exist.", path);
        using (var f = File.OpenRead(path))
        {
            var magic = new byte[4];
            if (f.Read(magic, 0, 4) != 4 || Encoding.ASCII.GetString(magic) != "GGUF")
                throw new InvalidDataException($"'{path}' is not a GGUF model file (it does not start with the bytes 'GGUF').");
        }
        if (!HasLlamaBackend(AppContext.BaseDirectory))
            throw new InvalidOperationException(
                $"GGUF model '{path}' needs llama.cpp's native library, and this application carries none: add a LLamaSharp backend package " +
                "(dotnet add package LLamaSharp.Backend.Cpu --version 0.30.0, or the CUDA/Vulkan backend of the same version).");
        var parameters = new ModelParams(path)
        {
            ContextSize = (uint)contextSize,
            GpuLayerCount = 0,
            Threads = Math.Max(1, Environment.ProcessorCount / 2),
        };
        try
        {
            return new GgufChatClient(path, LLamaWeights.LoadFromFile(parameters), parameters, maxTokens);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Native load problems (no usable llama.cpp build for this CPU/OS, an architecture or tensor it refuses)
            // surface as several exception types; the message says which file and what llama.cpp reported.
            throw new InvalidOperationException($"LLamaSharp could not load GGUF model '{path}': {e.GetType().Name}: {e.Message}", e);
        }
    }

    /// <summary>True when a LLamaSharp backend package put libllama beside the application (runtimes/RID/native/...).</summary>
    internal static bool HasLlamaBackend(string appDirectory) =>
        Directory.Exists(appDirectory) && new[] { "libllama.so", "llama.dll", "libllama.dylib" }
            .Any(name => Directory.EnumerateFiles(appDirectory, name, SearchOption.AllDirectories).Any());

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        string prompt = Prompt(messages.ToList());
        var inference = new InferenceParams
        {
            MaxTokens = options?.MaxOutputTokens ?? _maxTokens,
            SamplingPipeline = new DefaultSamplingPipeline
            {
                Temperature = options?.Temperature ?? 0f,
                Seed = (uint)(options?.Seed ?? 42),
                Grammar = GrammarFor(options?.ResponseFormat) is { } g ? new Grammar(g, "root") : null,
            },
        };
        var sb = new StringBuilder();
        int pieces = 0;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var executor = new StatelessExecutor(_weights, _parameters) { ApplyTemplate = false };
            await foreach (var piece in executor.InferAsync(prompt, inference, cancellationToken).ConfigureAwait(false))
            {
                sb.Append(piece);
                pieces++;
            }
        }
        finally
        {
            _gate.Release();
        }
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, sb.ToString()))
        {
            ModelId = Metadata.DefaultModelId,
            FinishReason = pieces >= inference.MaxTokens ? ChatFinishReason.Length : ChatFinishReason.Stop,
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var update in response.ToChatResponseUpdates()) yield return update;
    }

    /// <summary>The GBNF grammar for a response format: the schema's shape, any JSON object, or none for text.</summary>
    public static string? GrammarFor(ChatResponseFormat? format) => format switch
    {
        ChatResponseFormatJson { Schema: { } schema } => JsonSchemaGrammar.ToGbnf(schema),
        ChatResponseFormatJson => JsonSchemaGrammar.AnyJsonObject,
        _ => null,
    };

    private string Prompt(List<ChatMessage> messages)
    {
        if (_weights.Metadata.ContainsKey("tokenizer.chat_template"))
        {
            var template = new LLamaTemplate(_weights) { AddAssistant = true };
            foreach (var m in messages) template.Add(m.Role.Value, m.Text);
            return Encoding.UTF8.GetString(template.Apply());
        }
        var sb = new StringBuilder();
        foreach (var m in messages) sb.Append(m.Role.Value).Append(": ").Append(m.Text).Append('\n');
        return sb.Append("assistant: ").ToString();
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? Metadata
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType == typeof(LLamaWeights) ? _weights
        : null;

    public void Dispose()
    {
        _weights.Dispose();
        _gate.Dispose();
    }
}
