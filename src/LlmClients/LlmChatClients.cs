using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using OllamaSharp;
using OpenAI;

namespace MlNetLlm.LlmClients;

/// <summary>
/// Builds a chat client from a short spec: <c>ollama:MODEL[@URL]</c> (default URL: $OLLAMA_HOST or
/// http://localhost:11434) or <c>openai:MODEL[@URL]</c> (any OpenAI-compatible server; the key comes from
/// $OPENAI_API_KEY, which only the official endpoint requires) or <c>gguf:PATH</c> (a local model file run by
/// llama.cpp through LLamaSharp, <see cref="GgufChatClient"/>). Used by the CLI's --llm option and the evaluation's
/// MLNETLLM_LLM variable; library users can pass any IChatClient instead.
/// </summary>
public static class LlmChatClients
{
    public const string ApiKeyVariable = "OPENAI_API_KEY";

    public static IChatClient Create(string spec, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var (provider, model, url) = Parse(spec);
        if (provider == "gguf") return GgufChatClient.Load(model);
        if (provider == "ollama")
        {
            string host = url ?? environment("OLLAMA_HOST") ?? "http://localhost:11434";
            if (!host.Contains("://", StringComparison.Ordinal)) host = "http://" + host;
            return new OllamaApiClient(ToUri(host, spec), model);
        }
        string? key = environment(ApiKeyVariable);
        if (string.IsNullOrEmpty(key))
        {
            if (url is null)
                throw new ArgumentException($"LLM '{spec}': set the {ApiKeyVariable} environment variable to use the OpenAI API (or give an OpenAI-compatible server as openai:MODEL@URL).");
            key = "unused"; // local OpenAI-compatible servers (vLLM, llama.cpp, LM Studio) take any key
        }
        var options = new OpenAIClientOptions
        {
            // The feature scorer retries with its own timeout and tells the model what was wrong; SDK retries would only add waiting.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromMinutes(10),
        };
        if (url is not null) options.Endpoint = ToUri(url, spec);
        return new OpenAI.Chat.ChatClient(model, new ApiKeyCredential(key), options).AsIChatClient();
    }

    /// <summary>Splits <c>provider:model[@url]</c>; the model may itself contain ':' (llama3.1:8b).</summary>
    public static (string Provider, string Model, string? Url) Parse(string spec)
    {
        const string usage = "expected ollama:MODEL[@URL], openai:MODEL[@URL] or gguf:PATH";
        if (string.IsNullOrWhiteSpace(spec)) throw new ArgumentException($"The LLM spec is empty: {usage}.");
        int colon = spec.IndexOf(':');
        if (colon <= 0) throw new ArgumentException($"LLM '{spec}': {usage}.");
        string provider = spec[..colon].Trim().ToLowerInvariant();
        if (provider is not ("ollama" or "openai" or "gguf")) throw new ArgumentException($"LLM '{spec}': unknown provider '{provider}'; {usage}.");
        string rest = spec[(colon + 1)..];
        // A path may hold '@' and ':' (C:\models\x.gguf): gguf takes the rest as it is.
        if (provider == "gguf")
            return rest.Trim().Length > 0 ? (provider, rest.Trim(), null) : throw new ArgumentException($"LLM '{spec}': the GGUF file path is missing; {usage}.");
        int at = rest.IndexOf('@');
        string model = (at < 0 ? rest : rest[..at]).Trim();
        string? url = at < 0 ? null : rest[(at + 1)..].Trim();
        if (model.Length == 0) throw new ArgumentException($"LLM '{spec}': the model name is missing; {usage}.");
        if (url is { Length: 0 }) throw new ArgumentException($"LLM '{spec}': the URL after '@' is empty; {usage}.");
        return (provider, model, url);
    }

    private static Uri ToUri(string url, string spec) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new ArgumentException($"LLM '{spec}': '{url}' is not an http(s) URL.");
}
