using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MlNetLlm.Transforms.FeatureSelection;

/// <summary>
/// Reads a language model's feature-importance reply. Models wrap JSON in code fences, prepend prose or reasoning,
/// rename keys or answer on the wrong scale; this accepts the common wrappings and shapes but rejects what would
/// silently mislead (scores outside 0–1, names that are not features), reporting each problem so a retry can say
/// what was wrong.
/// </summary>
internal static partial class LlmReplyParser
{
    public sealed record Parsed(Dictionary<string, (double Score, string Reason)> Scores, List<string> Problems);

    private static readonly JsonDocumentOptions DocOptions = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip };

    public static Parsed Parse(string? text, IReadOnlyList<string> expected)
    {
        var scores = new Dictionary<string, (double, string)>(StringComparer.Ordinal);
        var problems = new List<string>();
        var reported = new HashSet<string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(text))
        {
            problems.Add("the reply was empty");
            return new Parsed(scores, problems);
        }
        var doc = TryParseJson(text);
        if (doc is null)
        {
            problems.Add($"the reply was not JSON (it began: \"{Snippet(text)}\")");
            return new Parsed(scores, problems);
        }
        using (doc)
        {
            foreach (var (name, item) in Items(doc.RootElement))
            {
                string? feature = Match(name, expected);
                if (feature is null)
                {
                    problems.Add($"'{Snippet(name, 40)}' is not one of the features asked about");
                    continue;
                }
                if (scores.ContainsKey(feature)) continue; // the first score of a repeated feature stands
                if (!TryScore(item, out double score, out string reason))
                {
                    problems.Add($"no numeric score for '{feature}'");
                    reported.Add(feature);
                    continue;
                }
                if (!double.IsFinite(score) || score < 0 || score > 1)
                {
                    problems.Add($"the score {score.ToString(CultureInfo.InvariantCulture)} for '{feature}' is outside 0–1");
                    reported.Add(feature);
                    continue;
                }
                scores[feature] = (score, OneLine(reason));
            }
        }
        var missing = expected.Where(e => !scores.ContainsKey(e) && !reported.Contains(e)).ToList();
        if (missing.Count > 0)
            problems.Add($"no valid score for {missing.Count} feature(s): {string.Join(", ", missing.Take(8).Select(m => $"'{m}'"))}{(missing.Count > 8 ? ", ..." : "")}");
        return new Parsed(scores, problems);
    }

    private static JsonDocument? TryParseJson(string text)
    {
        text = ThinkBlock().Replace(text, "").Trim(); // reasoning models (Ollama's qwen3, deepseek-r1) think aloud first
        var fence = Fence().Match(text);
        if (fence.Success) text = fence.Groups[1].Value.Trim();
        if (Try(text) is { } d) return d;
        // Prose around the JSON: take the outermost object or array.
        int start = text.IndexOfAny(['{', '[']);
        if (start < 0) return null;
        char close = text[start] == '{' ? '}' : ']';
        int end = text.LastIndexOf(close);
        return end > start ? Try(text[start..(end + 1)]) : null;

        static JsonDocument? Try(string s)
        {
            try { return JsonDocument.Parse(s, DocOptions); }
            catch (JsonException) { return null; }
        }
    }

    /// <summary>(name, element) pairs from {"features":[...]}, a bare array, or a {"name": score | {...}} map.</summary>
    private static IEnumerable<(string Name, JsonElement Item)> Items(JsonElement root)
    {
        if (root.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in root.EnumerateObject())
                if (p.Value.ValueKind == JsonValueKind.Array && p.Value.EnumerateArray().Any(e => e.ValueKind == JsonValueKind.Object && NameOf(e) is not null))
                    return FromArray(p.Value);
            return root.EnumerateObject()
                .Where(p => p.Value.ValueKind is JsonValueKind.Number or JsonValueKind.String or JsonValueKind.Object)
                .Select(p => (p.Name, p.Value)).ToList();
        }
        return root.ValueKind == JsonValueKind.Array ? FromArray(root) : [];

        static List<(string, JsonElement)> FromArray(JsonElement a) =>
            a.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object && NameOf(e) is not null).Select(e => (NameOf(e)!, e)).ToList();
    }

    private static string? NameOf(JsonElement e)
    {
        foreach (var key in new[] { "name", "feature", "column", "feature_name" })
            if (e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String) return v.GetString();
        return null;
    }

    private static bool TryScore(JsonElement item, out double score, out string reason)
    {
        reason = "";
        score = double.NaN;
        JsonElement s = item;
        if (item.ValueKind == JsonValueKind.Object)
        {
            foreach (var key in new[] { "reason", "explanation", "rationale" })
                if (item.TryGetProperty(key, out var r) && r.ValueKind == JsonValueKind.String) { reason = r.GetString() ?? ""; break; }
            bool found = false;
            foreach (var key in new[] { "score", "importance", "importance_score", "value" })
                if (item.TryGetProperty(key, out s)) { found = true; break; }
            if (!found) return false;
        }
        if (s.ValueKind == JsonValueKind.Number) { score = s.GetDouble(); return true; }
        return s.ValueKind == JsonValueKind.String && double.TryParse(s.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out score);
    }

    /// <summary>The expected feature a reply's name means: exact, else the one equal after trimming quotes/case.</summary>
    private static string? Match(string name, IReadOnlyList<string> expected)
    {
        foreach (var e in expected) if (e == name) return e;
        string norm = Normalize(name);
        var hits = expected.Where(e => Normalize(e) == norm).ToList();
        return hits.Count == 1 ? hits[0] : null;
    }

    private static string Normalize(string s) => s.Trim().Trim('"', '\'', '`').Trim().ToLowerInvariant();

    private static string OneLine(string s)
    {
        s = string.Join(' ', s.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries)).Trim();
        return s.Length <= 240 ? s : s[..239] + "…";
    }

    private static string Snippet(string s, int n = 60)
    {
        s = OneLine(s);
        return s.Length <= n ? s : s[..n] + "…";
    }

    [GeneratedRegex(@"<think>.*?</think>", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex ThinkBlock();

    [GeneratedRegex(@"```(?:json|JSON)?\s*(.*?)```", RegexOptions.Singleline)]
    private static partial Regex Fence();
}
