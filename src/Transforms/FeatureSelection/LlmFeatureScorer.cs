using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace MlNetLlm.Transforms.FeatureSelection;

/// <summary>What the scorer is told about one feature: its name, how it is encoded, and the user's description.</summary>
internal sealed record FeaturePrompt(string Name, FeatureKind Kind, string? Description);

/// <summary>What a prior scorer judges the features against: the task, the label and the kind of task it is.</summary>
internal sealed record PriorQuestion(string Task, string Label, string? LabelDescription, string TaskKind);

/// <summary>
/// A language prior: a 0–1 relevance per feature from names and descriptions alone (the data is not looked at).
/// The LLM scorer and the local sentence-encoder scorer both are one.
/// </summary>
internal interface IFeaturePriorScorer
{
    Task<LlmScoringOutcome> ScoreAsync(IReadOnlyList<FeaturePrompt> features, PriorQuestion question, CancellationToken ct);
}

/// <summary>Scores the language model gave, and what happened getting them.</summary>
internal sealed class LlmScoringOutcome
{
    public Dictionary<string, (double Score, string Reason)> Scores { get; } = new(StringComparer.Ordinal);
    public List<string> Notes { get; } = [];
    public int Requests { get; set; }
    public int CacheHits { get; set; }
    public string ModelId { get; set; } = "";
    /// <summary>Set when the scorer stopped asking (timeouts, garbage, budget): the reason, for the report.</summary>
    public string? GaveUp { get; set; }
    /// <summary>The last problem with a reply or request, to explain a fallback.</summary>
    public string? LastProblem { get; set; }
}

/// <summary>
/// LLM-Score (Jeong, Lipton and Ravikumar 2024): asks a chat model for a 0–1 importance and a one-line reason per
/// feature from its name, kind and description, in batches, with temperature 0 and a JSON reply schema. Malformed,
/// partial, out-of-range or refused replies are retried for the features still missing, with the problem stated;
/// each request has a timeout and the whole scoring a time budget, so a dead or slow endpoint cannot hang a fit.
/// Usable replies are cached on disk under a hash of provider, model and prompt.
/// </summary>
internal sealed class LlmFeatureScorer(IChatClient client, LlmFeatureSelectionEstimator.Options options, Action<string>? log) : IFeaturePriorScorer
{
    /// <summary>Bumped when the prompt or schema changes, so old cache entries are not reused for a different question.</summary>
    internal const string PromptVersion = "llm-select-v2"; // v2: the prompt states the task kind

    private const string SystemPrompt =
        "You are an expert data scientist with broad domain knowledge. You judge how useful input features are for predicting a target " +
        "from their names and descriptions alone; you do not see the data. Reply with JSON only.";

    internal static readonly JsonElement ReplySchema = JsonDocument.Parse("""
        {
          "type": "object",
          "properties": {
            "features": {
              "type": "array",
              "items": {
                "type": "object",
                "properties": {
                  "name": { "type": "string", "description": "the feature name exactly as given" },
                  "score": { "type": "number", "description": "importance for predicting the target, from 0 (useless) to 1 (most important)" },
                  "reason": { "type": "string", "description": "one short sentence" }
                },
                "required": ["name", "score", "reason"],
                "additionalProperties": false
              }
            }
          },
          "required": ["features"],
          "additionalProperties": false
        }
        """).RootElement.Clone();

    public async Task<LlmScoringOutcome> ScoreAsync(IReadOnlyList<FeaturePrompt> features, PriorQuestion question, CancellationToken ct)
    {
        var outcome = new LlmScoringOutcome();
        var meta = client.GetService<ChatClientMetadata>();
        string provider = meta?.ProviderName ?? client.GetType().Name;
        outcome.ModelId = options.ModelId ?? meta?.DefaultModelId ?? "unknown";
        LlmResponseCache? cache = options.CacheDirectory is { Length: > 0 } dir ? new LlmResponseCache(dir) : null;
        var chatOptions = new ChatOptions
        {
            Temperature = 0f,
            ResponseFormat = ChatResponseFormat.ForJsonSchema(ReplySchema, "feature_importance", "Importance score and reason per feature."),
        };
        if (options.ModelId is not null) chatOptions.ModelId = options.ModelId;

        var clock = Stopwatch.StartNew();
        int batchesWithoutScores = 0;
        var batches = features.Chunk(Math.Max(1, options.BatchSize)).ToList();
        for (int b = 0; b < batches.Count; b++)
        {
            var pending = batches[b].ToList();
            string? problem = null;
            bool anyScore = false;
            for (int attempt = 0; attempt <= options.MaxRetries && pending.Count > 0; attempt++)
            {
                if (clock.Elapsed > options.LlmTimeBudget)
                {
                    outcome.GaveUp = $"the LLM time budget ({options.LlmTimeBudget.TotalSeconds:0} s) ran out";
                    break;
                }
                var messages = new List<ChatMessage>
                {
                    new(ChatRole.System, SystemPrompt),
                    new(ChatRole.User, UserPrompt(pending, question, problem)),
                };
                string key = LlmResponseCache.Key(provider, outcome.ModelId, messages, PromptVersion);
                string? reply = cache?.TryGet(key);
                bool fromCache = reply is not null;
                if (fromCache)
                {
                    outcome.CacheHits++;
                }
                else
                {
                    outcome.Requests++;
                    (reply, problem) = await AskAsync(messages, chatOptions, ct).ConfigureAwait(false);
                    if (reply is null)
                    {
                        outcome.LastProblem = problem;
                        log?.Invoke($"LLM batch {b + 1}/{batches.Count}, attempt {attempt + 1}: {problem}");
                        continue;
                    }
                }
                var names = pending.Select(p => p.Name).ToList();
                var parsed = LlmReplyParser.Parse(reply, names);
                foreach (var (name, s) in parsed.Scores) outcome.Scores.TryAdd(name, s);
                if (parsed.Scores.Count > 0)
                {
                    anyScore = true;
                    if (!fromCache) cache?.Put(key, outcome.ModelId, reply!, outcome.Notes);
                }
                pending = pending.Where(p => !outcome.Scores.ContainsKey(p.Name)).ToList();
                problem = parsed.Problems.Count > 0 ? string.Join("; ", parsed.Problems) : null;
                if (problem is not null)
                {
                    outcome.LastProblem = problem;
                    log?.Invoke($"LLM batch {b + 1}/{batches.Count}, attempt {attempt + 1}{(fromCache ? " (cached)" : "")}: {problem}");
                }
            }
            if (outcome.GaveUp is not null) break;
            batchesWithoutScores = anyScore ? 0 : batchesWithoutScores + 1;
            // An endpoint that answered nothing usable for two whole batches will not do better on the next ones.
            if (batchesWithoutScores >= 2 && b < batches.Count - 1)
            {
                outcome.GaveUp = $"{batchesWithoutScores} batches in a row gave no usable score (last problem: {outcome.LastProblem})";
                break;
            }
        }
        return outcome;
    }

    /// <summary>One request with its own timeout; returns the reply text, or null and what went wrong.</summary>
    private async Task<(string? Reply, string? Problem)> AskAsync(List<ChatMessage> messages, ChatOptions chatOptions, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(options.RequestTimeout);
        try
        {
            // WaitAsync as well as the token: a client that ignores cancellation still cannot hold the fit.
            var response = await client.GetResponseAsync(messages, chatOptions, cts.Token)
                .WaitAsync(options.RequestTimeout + TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
            string text = response.Text;
            var refusal = response.Messages.SelectMany(m => m.Contents).OfType<ErrorContent>().FirstOrDefault();
            if (string.IsNullOrWhiteSpace(text))
            {
                if (refusal is not null) return (null, $"the model refused: {refusal.Message}");
                if (response.AdditionalProperties?.TryGetValue("Refusal", out var r) == true && r is not null) return (null, $"the model refused: {r}");
                if (response.FinishReason == ChatFinishReason.ContentFilter) return (null, "the reply was withheld by a content filter");
                return (null, "the reply was empty");
            }
            return (text, null);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException && !ct.IsCancellationRequested)
        {
            return (null, $"no reply within {options.RequestTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s");
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is not OutOfMemoryException)
        {
            string msg = e.Message.Split('\n')[0].Trim();
            return (null, $"the request failed ({e.GetType().Name}: {(msg.Length > 200 ? msg[..200] + "…" : msg)})");
        }
    }

    internal static string UserPrompt(IReadOnlyList<FeaturePrompt> features, PriorQuestion q, string? previousProblem)
    {
        var sb = new StringBuilder();
        sb.Append("Task: ").Append(q.Task.Trim()).Append('\n');
        sb.Append("Target: \"").Append(q.Label).Append('"');
        if (!string.IsNullOrWhiteSpace(q.LabelDescription)) sb.Append(": ").Append(q.LabelDescription.Trim());
        sb.Append("\nKind of task: ").Append(q.TaskKind);
        sb.Append("\n\nScore how important each feature below is for predicting the target, from 0 (useless) to 1 (most important). ");
        sb.Append("Judge each feature on its own; the scores need not sum to 1. Give a one-line reason for each.\n\nFeatures:\n");
        foreach (var f in features)
        {
            sb.Append("- \"").Append(f.Name).Append("\" (").Append(f.Kind switch
            {
                FeatureKind.Numeric => "numeric",
                FeatureKind.Categorical => "categorical",
                _ => "free text",
            }).Append(')');
            if (!string.IsNullOrWhiteSpace(f.Description)) sb.Append(": ").Append(f.Description.Trim());
            sb.Append('\n');
        }
        sb.Append("\nReply with JSON only, in this form, with every feature above exactly once:\n");
        sb.Append("{\"features\":[{\"name\":\"<feature name exactly as given>\",\"score\":<number from 0 to 1>,\"reason\":\"<one line>\"}]}");
        if (previousProblem is not null)
            sb.Append("\n\nYour previous reply could not be used: ").Append(previousProblem).Append(". Reply again with the JSON object only.");
        return sb.ToString();
    }
}

/// <summary>
/// Replies on disk, one small JSON file per request, named by a SHA-256 of provider, model, prompt version and the
/// messages: the same question to the same model is answered from disk, so refitting costs nothing. Only replies
/// that gave at least one valid score are stored.
/// </summary>
internal sealed class LlmResponseCache(string directory)
{
    public string Directory { get; } = directory;

    public static string Key(string provider, string model, IEnumerable<ChatMessage> messages, string version)
    {
        var payload = JsonSerializer.Serialize(new
        {
            provider,
            model,
            version,
            temperature = 0,
            messages = messages.Select(m => new[] { m.Role.Value, m.Text }).ToArray(),
        });
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(payload)));
    }

    private string PathOf(string key) => Path.Combine(Directory, key[..2], key + ".json");

    public string? TryGet(string key)
    {
        string path = PathOf(key);
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.GetProperty("reply").GetString();
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException or UnauthorizedAccessException)
        {
            return null; // a damaged entry is asked again and overwritten
        }
    }

    public void Put(string key, string model, string reply, List<string> notes)
    {
        string path = PathOf(key);
        try
        {
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            string tmp = path + "." + Environment.ProcessId + "." + Guid.NewGuid().ToString("N") + ".tmp";
            File.WriteAllText(tmp, JsonSerializer.Serialize(new { model, created = DateTimeOffset.UtcNow, reply }));
            File.Move(tmp, path, overwrite: true); // atomic: a concurrent reader sees the old entry or the new one
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string note = $"The LLM reply cache '{Directory}' could not be written ({e.Message}); replies were not cached.";
            if (!notes.Contains(note)) notes.Add(note);
        }
    }
}
