using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using static MlNetLlm.Tokenization.UnigramTextTokenizer;

namespace MlNetLlm.Tokenization;

/// <summary>Reads the Unigram model, normalizer and Metaspace pre-tokenizer of a tokenizer.json; a component this
/// project does not run is an error that names it, never a silent approximation.</summary>
internal static class UnigramJson
{
    public static UnigramTextTokenizer Read(string path, JsonElement root, JsonElement model, string? cls, string? sep, SpecialTokenLayout layout, int maxLength)
    {
        CheckpointException Error(string message) => new($"'{path}': {message}", path);
        if (model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True)
            throw Error("Unigram with byte_fallback is not supported.");
        var vocab = model.GetProperty("vocab").EnumerateArray().Select(e => (e[0].GetString()!, e[1].GetDouble())).ToList();
        int unk = model.TryGetProperty("unk_id", out var u) && u.ValueKind == JsonValueKind.Number ? u.GetInt32()
            : throw Error("the Unigram model has no unk_id.");

        var steps = new List<NormalizerStep>();
        if (root.TryGetProperty("normalizer", out var n) && n.ValueKind == JsonValueKind.Object) AddNormalizer(n, steps, Error);

        var (prepend, split) = (PrependScheme.Always, true);
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
            throw Error("a Unigram model without a Metaspace pre_tokenizer is not supported.");
        var metaspace = TokenizerJson.Find(pre, "Metaspace") ?? throw Error($"pre_tokenizer \"{TokenizerJson.Str(pre, "type")}\" is not supported with Unigram (Metaspace is).");
        if (TokenizerJson.Str(pre, "type") == "Sequence" && pre.GetProperty("pretokenizers").GetArrayLength() != 1)
            throw Error("a pre_tokenizer Sequence other than a single Metaspace is not supported with Unigram.");
        if (TokenizerJson.Str(metaspace, "replacement") is { } r && r != "\u2581") throw Error($"Metaspace replacement \"{r}\" is not supported (▁ is).");
        prepend = TokenizerJson.Str(metaspace, "prepend_scheme") switch
        {
            "always" => PrependScheme.Always,
            "first" => PrependScheme.First,
            "never" => PrependScheme.Never,
            null => metaspace.TryGetProperty("add_prefix_space", out var aps) && aps.ValueKind == JsonValueKind.False ? PrependScheme.Never : PrependScheme.Always,
            var other => throw Error($"Metaspace prepend_scheme \"{other}\" is not known."),
        };
        split = !metaspace.TryGetProperty("split", out var sp) || sp.ValueKind != JsonValueKind.False;

        var added = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out var a) && a.ValueKind == JsonValueKind.Array)
            foreach (var t in a.EnumerateArray())
                added.Add(new AddedToken(TokenizerJson.Str(t, "content") ?? "", t.GetProperty("id").GetInt32(),
                    t.TryGetProperty("lstrip", out var ls) && ls.ValueKind == JsonValueKind.True, t.TryGetProperty("rstrip", out var rs) && rs.ValueKind == JsonValueKind.True));
        int Id(string? token, string fallback, string role)
        {
            string name = token ?? fallback;
            var hit = added.FirstOrDefault(x => x.Content == name);
            if (hit is not null) return hit.Id;
            int i = vocab.FindIndex(v => v.Item1 == name);
            return i >= 0 ? i : throw Error($"the vocabulary has no {role} token '{name}'.");
        }
        string? pad = added.Select(x => x.Content).FirstOrDefault(c => c.Contains("pad", StringComparison.OrdinalIgnoreCase));
        var special = new SpecialTokenIds(Id(cls, "<s>", "start"), Id(sep, "</s>", "separator"), pad is null ? unk : Id(pad, pad, "padding"), unk);
        try
        {
            return new UnigramTextTokenizer(vocab, unk, steps, prepend, split, added, special, layout, maxLength);
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointException($"'{path}': {e.Message}", path, inner: e);
        }
    }

    private static void AddNormalizer(JsonElement n, List<NormalizerStep> steps, Func<string, Exception> error)
    {
        switch (TokenizerJson.Str(n, "type"))
        {
            case "Sequence":
                foreach (var item in n.GetProperty("normalizers").EnumerateArray()) AddNormalizer(item, steps, error);
                break;
            case "Precompiled":
                string? map = TokenizerJson.Str(n, "precompiled_charsmap");
                if (!string.IsNullOrEmpty(map)) steps.Add(new PrecompiledStep(new PrecompiledCharsMap(Convert.FromBase64String(map))));
                break;
            case "Strip":
                steps.Add(new StripStep(Flag(n, "strip_left"), Flag(n, "strip_right")));
                break;
            case "Replace":
                var pattern = n.GetProperty("pattern");
                string content = TokenizerJson.Str(n, "content") ?? "";
                if (pattern.TryGetProperty("String", out var literal)) steps.Add(new ReplaceStep(literal.GetString(), null, content));
                else if (pattern.TryGetProperty("Regex", out var regex)) steps.Add(new ReplaceStep(null, new Regex(regex.GetString()!, RegexOptions.CultureInvariant), content));
                else throw error("a Replace normalizer without a String or Regex pattern.");
                break;
            case "NFC": steps.Add(new UnicodeStep(NormalizationForm.FormC)); break;
            case "NFD": steps.Add(new UnicodeStep(NormalizationForm.FormD)); break;
            case "NFKC": steps.Add(new UnicodeStep(NormalizationForm.FormKC)); break;
            case "NFKD": steps.Add(new UnicodeStep(NormalizationForm.FormKD)); break;
            case "Lowercase": steps.Add(new LowercaseStep()); break;
            case var other: throw error($"normalizer \"{other}\" is not supported with Unigram.");
        }
    }

    private static bool Flag(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
}
