using System.Text;
using System.Text.Json;

namespace MlNetLlm.LlmClients;

/// <summary>
/// Turns a JSON schema into a llama.cpp GBNF grammar so a local model can only write replies of that shape. Covers the
/// subset reply schemas use: objects (properties written in order, all of them, as the feature scorer's schema
/// requires them all), arrays, strings, numbers, integers, Booleans and enums of strings. Compact JSON (no
/// whitespace), and strings and numbers bounded, so a confused model cannot run on inside one literal forever.
/// </summary>
public static class JsonSchemaGrammar
{
    public const int MaxStringLength = 200;

    /// <summary>Any JSON object (for a JSON response format without a schema).</summary>
    public const string AnyJsonObject = """
        root ::= object
        value ::= object | array | string | number | boolean | "null"
        object ::= "{" (string ":" value ("," string ":" value)*)? "}"
        array ::= "[" (value ("," value)*)? "]"
        string ::= "\"" char{0,200} "\""
        char ::= [^"\\\x00-\x1F] | "\\" ["\\/bfnrt]
        number ::= "-"? [0-9]{1,12} ("." [0-9]{1,12})? ([eE] [-+]? [0-9]{1,3})?
        boolean ::= "true" | "false"

        """;

    public static string ToGbnf(JsonElement schema)
    {
        var rules = new List<string>();
        string root = Rule(schema, "root", rules);
        if (root != "root") rules.Insert(0, $"root ::= {root}");
        rules.Add($"string ::= \"\\\"\" char{{0,{MaxStringLength}}} \"\\\"\"");
        rules.Add("char ::= [^\"\\\\\\x00-\\x1F] | \"\\\\\" [\"\\\\/bfnrt]");
        rules.Add("number ::= \"-\"? [0-9]{1,12} (\".\" [0-9]{1,12})? ([eE] [-+]? [0-9]{1,3})?");
        rules.Add("integer ::= \"-\"? [0-9]{1,18}");
        rules.Add("boolean ::= \"true\" | \"false\"");
        return string.Join("\n", rules) + "\n";
    }

    /// <summary>Adds the rules for <paramref name="s"/> and returns the expression that matches it.</summary>
    private static string Rule(JsonElement s, string name, List<string> rules)
    {
        if (s.TryGetProperty("enum", out var values))
            return Define(name, string.Join(" | ", values.EnumerateArray().Select(v => Literal(JsonSerializer.Serialize(v)))), rules);
        string type = s.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
        switch (type)
        {
            case "object":
            {
                var parts = new List<string>();
                if (s.TryGetProperty("properties", out var props))
                    foreach (var p in props.EnumerateObject())
                    {
                        string sub = Rule(p.Value, $"{name}-{Safe(p.Name)}", rules);
                        parts.Add($"{Literal((parts.Count == 0 ? "" : ",") + JsonSerializer.Serialize(p.Name) + ":")} {sub}");
                    }
                return Define(name, $"\"{{\" {string.Join(" ", parts)} \"}}\"", rules);
            }
            case "array":
            {
                string item = s.TryGetProperty("items", out var items) ? Rule(items, name + "-item", rules) : "string";
                return Define(name, $"\"[\" ({item} (\",\" {item})*)? \"]\"", rules);
            }
            case "string": return "string";
            case "number": return "number";
            case "integer": return "integer";
            case "boolean": return "boolean";
            default: throw new NotSupportedException($"JSON schema type '{type}' (at {name}) has no grammar here; supported: object, array, string, number, integer, boolean, enum.");
        }
    }

    private static string Define(string name, string body, List<string> rules)
    {
        rules.Add($"{name} ::= {body}");
        return name;
    }

    private static string Safe(string s) => new(s.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-').ToArray());

    /// <summary>A GBNF string literal of <paramref name="text"/>.</summary>
    private static string Literal(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in text) sb.Append(c is '"' or '\\' ? "\\" + c : c.ToString());
        return sb.Append('"').ToString();
    }
}
