using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace MlNetLlm.Transforms.Tests;

/// <summary>One chat request as the server saw it.</summary>
public sealed record FakeRequest(string Path, JsonNode Body, string UserPrompt, IReadOnlyList<string> FeatureNames);

/// <summary>
/// What to answer: the assistant's text (or a refusal), an HTTP status, a raw body instead of the wire format,
/// and a delay before answering.
/// </summary>
public sealed record FakeReply(string? Content, int Status = 200, TimeSpan Delay = default, string? Refusal = null, string? RawBody = null);

/// <summary>
/// A loopback HTTP server speaking the OpenAI chat-completions wire format (POST /v1/chat/completions) and Ollama's
/// (POST /api/chat, one JSON object or NDJSON lines when the request streams). It answers with what the test's
/// handler returns for each request, records the requests, refuses more than <see cref="MaxRequests"/>, and only
/// listens on 127.0.0.1.
/// </summary>
public sealed partial class FakeLlmServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Func<FakeRequest, FakeReply> _handler;
    private readonly ConcurrentQueue<FakeRequest> _requests = new();

    public int MaxRequests { get; init; } = 40;
    public Uri BaseUri { get; }
    /// <summary>Base URL for the OpenAI client (it appends chat/completions).</summary>
    public Uri OpenAiEndpoint => new(BaseUri, "v1/");
    public IReadOnlyList<FakeRequest> Requests => _requests.ToArray();
    public int RequestCount => _requests.Count;

    /// <summary>The request count once it reaches <paramref name="expected"/> or <paramref name="timeout"/> passes. A
    /// client that gave up on a request (its timeout) returns before this server's handler may have recorded it, most
    /// of all on a loaded machine; counting at once would miss it.</summary>
    public int WaitForRequestCount(int expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (_requests.Count < expected && DateTime.UtcNow < deadline) Thread.Sleep(10);
        return _requests.Count;
    }

    public FakeLlmServer(Func<FakeRequest, FakeReply> handler)
    {
        _handler = handler;
        int port = FreePort();
        BaseUri = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(BaseUri.ToString());
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync().WaitAsync(_stop.Token); }
            catch { return; }
            _ = Task.Run(() => HandleAsync(ctx));
        }
    }

    private async Task HandleAsync(HttpListenerContext ctx)
    {
        try
        {
            string path = ctx.Request.Url!.AbsolutePath;
            string bodyText;
            using (var reader = new StreamReader(ctx.Request.InputStream, Encoding.UTF8)) bodyText = await reader.ReadToEndAsync();
            bool openAi = path.EndsWith("/chat/completions", StringComparison.Ordinal);
            bool ollama = path == "/api/chat";
            if (ctx.Request.HttpMethod != "POST" || !(openAi || ollama))
            {
                await WriteAsync(ctx, 404, "{\"error\":\"not found\"}", "application/json");
                return;
            }
            if (_requests.Count >= MaxRequests)
            {
                await WriteAsync(ctx, 500, "{\"error\":\"test server: too many requests\"}", "application/json");
                return;
            }
            var body = JsonNode.Parse(bodyText)!;
            string user = string.Join("\n", body["messages"]!.AsArray()
                .Where(m => (string?)m!["role"] == "user").Select(m => ContentText(m!["content"])));
            var names = FeatureLine().Matches(user).Select(m => m.Groups[1].Value).ToList();
            var request = new FakeRequest(path, body, user, names);
            _requests.Enqueue(request);
            var reply = _handler(request);
            if (reply.Delay > TimeSpan.Zero)
                await Task.Delay(reply.Delay, _stop.Token);
            if (reply.RawBody is not null)
            {
                await WriteAsync(ctx, reply.Status, reply.RawBody, "application/json");
                return;
            }
            string model = (string?)body["model"] ?? "test-model";
            if (openAi)
            {
                var message = new JsonObject { ["role"] = "assistant", ["content"] = reply.Content };
                if (reply.Refusal is not null) message["refusal"] = reply.Refusal;
                var json = new JsonObject
                {
                    ["id"] = "chatcmpl-test",
                    ["object"] = "chat.completion",
                    ["created"] = 1_700_000_000,
                    ["model"] = model,
                    ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = "stop" }),
                    ["usage"] = new JsonObject { ["prompt_tokens"] = 10, ["completion_tokens"] = 10, ["total_tokens"] = 20 },
                };
                await WriteAsync(ctx, reply.Status, json.ToJsonString(), "application/json");
            }
            else
            {
                var final = new JsonObject
                {
                    ["model"] = model,
                    ["created_at"] = "2025-01-01T00:00:00Z",
                    ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = reply.Content ?? "" },
                    ["done"] = true,
                    ["done_reason"] = "stop",
                    ["total_duration"] = 1000,
                    ["prompt_eval_count"] = 10,
                    ["eval_count"] = 10,
                };
                bool stream = (bool?)body["stream"] ?? true;
                await WriteAsync(ctx, reply.Status, final.ToJsonString() + (stream ? "\n" : ""), stream ? "application/x-ndjson" : "application/json");
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
        catch (HttpListenerException)
        {
            // the client gave up (timeout test): nothing to answer
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static string ContentText(JsonNode? content) => content switch
    {
        null => "",
        JsonArray parts => string.Join("", parts.Select(p => (string?)p?["text"] ?? "")),
        _ => (string?)content ?? "",
    };

    private static async Task WriteAsync(HttpListenerContext ctx, int status, string body, string contentType)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = contentType;
        ctx.Response.ContentLength64 = bytes.Length;
        await ctx.Response.OutputStream.WriteAsync(bytes);
        ctx.Response.Close();
    }

    public void Dispose()
    {
        _stop.Cancel();
        try { _listener.Stop(); _listener.Close(); } catch (ObjectDisposedException) { }
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        _stop.Dispose();
    }

    [GeneratedRegex("^- \"(.+)\" \\(", RegexOptions.Multiline)]
    private static partial Regex FeatureLine();

    /// <summary>The reply JSON for the given scores: {"features":[{"name","score","reason"}]}.</summary>
    public static string ScoresJson(IEnumerable<(string Name, double Score)> scores) =>
        JsonSerializer.Serialize(new
        {
            features = scores.Select(s => new { name = s.Name, score = s.Score, reason = $"reason for {s.Name}" }).ToArray(),
        });
}
