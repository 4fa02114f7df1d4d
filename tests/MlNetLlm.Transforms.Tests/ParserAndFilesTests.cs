using System.Text.Json;
using Microsoft.Extensions.AI;
using MlNetLlm.LlmClients;
using MlNetLlm.Transforms.FeatureSelection;

namespace MlNetLlm.Transforms.Tests;

public class ParserTests
{
    private static readonly string[] Names = ["mean radius", "age", "smoker"];

    [Theory]
    [InlineData("""{"features":[{"name":"mean radius","score":0.9,"reason":"size"},{"name":"age","score":0.5,"reason":"r"},{"name":"smoker","score":0,"reason":"r"}]}""")]
    [InlineData("""[{"name":"mean radius","score":0.9},{"name":"age","score":"0.5"},{"name":"smoker","score":0}]""")]
    [InlineData("""{"mean radius": 0.9, "age": {"importance": 0.5, "explanation": "r"}, "smoker": 0}""")]
    [InlineData("Sure! Here are the scores:\n```json\n{\"features\":[{\"feature\":\"Mean Radius\",\"score\":0.9},{\"name\":\"AGE\",\"score\":0.5},{\"name\":\"`smoker`\",\"score\":0},]}\n```\nHope that helps.")]
    [InlineData("<think>{ not json }</think>{\"scores\":[{\"name\":\"mean radius\",\"score\":0.9},{\"name\":\"age\",\"score\":0.5},{\"name\":\"smoker\",\"score\":0}]}")]
    public void AcceptedShapes(string reply)
    {
        var p = LlmReplyParser.Parse(reply, Names);
        Assert.Empty(p.Problems);
        Assert.Equal(0.9, p.Scores["mean radius"].Score);
        Assert.Equal(0.5, p.Scores["age"].Score);
        Assert.Equal(0, p.Scores["smoker"].Score);
    }

    [Fact]
    public void ProblemsAreReported()
    {
        var p = LlmReplyParser.Parse("""{"features":[{"name":"mean radius","score":9},{"name":"height","score":0.4},{"name":"age","score":"high"},{"name":"age","score":0.3}]}""", Names);
        Assert.Equal(0.3, Assert.Single(p.Scores).Value.Score); // the first valid score of a repeated feature
        Assert.Contains("the score 9 for 'mean radius' is outside 0–1", p.Problems);
        Assert.Contains("'height' is not one of the features asked about", p.Problems);
        Assert.Contains("no numeric score for 'age'", p.Problems);
        Assert.Contains("no valid score for 1 feature(s): 'smoker'", p.Problems);
        Assert.DoesNotContain(p.Problems, x => x.Contains("'mean radius'") && x.StartsWith("no valid score", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("", "the reply was empty")]
    [InlineData("I cannot do that.", "the reply was not JSON")]
    [InlineData("{\"features\": [", "the reply was not JSON")]
    [InlineData("{\"features\":[{\"name\":\"age\",\"score\":NaN}]}", "the reply was not JSON")]
    public void Garbage(string reply, string problem)
    {
        var p = LlmReplyParser.Parse(reply, Names);
        Assert.Empty(p.Scores);
        Assert.StartsWith(problem, p.Problems[0]);
    }

    [Fact]
    public void ReasonsAreOneLine()
    {
        var p = LlmReplyParser.Parse("""{"features":[{"name":"age","score":0.5,"reason":"older\npeople\tget sick"}]}""", Names);
        Assert.Equal("older people get sick", p.Scores["age"].Reason);
    }

    [Fact]
    public void PromptListsFeaturesKindsDescriptionsAndTheRetryNote()
    {
        var prompt = LlmFeatureScorer.UserPrompt(
            [new FeaturePrompt("age", FeatureKind.Numeric, "years"), new FeaturePrompt("notes", FeatureKind.Text, null)],
            new PriorQuestion("Predict churn.", "churn", "customer left", "binary classification (classes 'no' and 'yes')"), "the reply was empty");
        Assert.Contains("Task: Predict churn.", prompt);
        Assert.Contains("Target: \"churn\": customer left\nKind of task: binary classification (classes 'no' and 'yes')\n", prompt);
        Assert.Contains("- \"age\" (numeric): years\n- \"notes\" (free text)\n", prompt);
        Assert.EndsWith("Your previous reply could not be used: the reply was empty. Reply again with the JSON object only.", prompt);
    }

    [Fact]
    public void CacheKeyDependsOnModelAndPrompt()
    {
        ChatMessage[] a = [new(ChatRole.System, "s"), new(ChatRole.User, "u")];
        ChatMessage[] b = [new(ChatRole.System, "s"), new(ChatRole.User, "u2")];
        string k = LlmResponseCache.Key("openai", "m", a, "v1");
        Assert.Equal(k, LlmResponseCache.Key("openai", "m", [new(ChatRole.System, "s"), new(ChatRole.User, "u")], "v1"));
        Assert.NotEqual(k, LlmResponseCache.Key("openai", "m2", a, "v1"));
        Assert.NotEqual(k, LlmResponseCache.Key("openai", "m", b, "v1"));
        Assert.NotEqual(k, LlmResponseCache.Key("ollama", "m", a, "v1"));
        Assert.Equal(64, k.Length);
    }
}

public class FilesAndSpecTests
{
    [Theory]
    [InlineData("ollama:llama3.1:8b", "ollama", "llama3.1:8b", null)]
    [InlineData("ollama:qwen3@http://gpu-box:11434", "ollama", "qwen3", "http://gpu-box:11434")]
    [InlineData("openai:gpt-4o-mini", "openai", "gpt-4o-mini", null)]
    [InlineData("OpenAI:local-model@http://127.0.0.1:8000/v1", "openai", "local-model", "http://127.0.0.1:8000/v1")]
    public void LlmSpecs(string spec, string provider, string model, string? url)
    {
        Assert.Equal((provider, model, url), LlmChatClients.Parse(spec));
    }

    [Theory]
    [InlineData("llama3", "expected ollama:MODEL[@URL], openai:MODEL[@URL] or gguf:PATH")]
    [InlineData("claude:x", "unknown provider 'claude'")]
    [InlineData("ollama:", "the model name is missing")]
    [InlineData("ollama:m@", "the URL after '@' is empty")]
    [InlineData("ollama:m@ftp://x", "'ftp://x' is not an http(s) URL")]
    public void BadLlmSpecs(string spec, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => LlmChatClients.Create(spec, _ => null));
        Assert.Contains(message, e.Message);
        Assert.Contains($"LLM '{spec}'", e.Message);
    }

    [Fact]
    public void OpenAiNeedsAKeyOnlyForTheOfficialEndpoint()
    {
        var e = Assert.Throws<ArgumentException>(() => LlmChatClients.Create("openai:gpt-4o-mini", _ => null));
        Assert.Contains("set the OPENAI_API_KEY environment variable", e.Message);
        Assert.NotNull(LlmChatClients.Create("openai:gpt-4o-mini", v => v == "OPENAI_API_KEY" ? "sk-test" : null));
        Assert.NotNull(LlmChatClients.Create("openai:local@http://127.0.0.1:1/v1", _ => null));
        var ollama = LlmChatClients.Create("ollama:llama3", v => v == "OLLAMA_HOST" ? "127.0.0.1:1234" : null);
        Assert.Equal(new Uri("http://127.0.0.1:1234/"), ollama.GetService<ChatClientMetadata>()!.ProviderUri);
        Assert.Equal("llama3", ollama.GetService<ChatClientMetadata>()!.DefaultModelId);
    }

    [Fact]
    public void ClientFromSpecTalksToTheLoopbackServer()
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(r => new FakeReply(FakeLlmServer.ScoresJson(r.FeatureNames.Select(n => (n, Clinic.GoodScore(n))))));
        foreach (var spec in new[] { $"openai:gpt-test@{server.OpenAiEndpoint}", $"ollama:llama-test@{server.BaseUri}" })
        {
            var o = Clinic.Options(tmp.Path);
            var t = new LlmFeatureSelectionEstimator(o, LlmChatClients.Create(spec, _ => null)).Fit(Clinic.Make().ToDataView());
            Assert.Equal(FeatureSelectionMode.Llm, t.Report.Mode);
        }
        Assert.Equal(2, server.RequestCount);
    }

    [Fact]
    public void DescriptionsFromJsonAndCsv()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("d.json"), """{"age": "years", "smoker": "yes/no"}""");
        Assert.Equal(new Dictionary<string, string> { ["age"] = "years", ["smoker"] = "yes/no" }, FeatureSelectionFiles.LoadDescriptions(tmp.File("d.json")));
        File.WriteAllText(tmp.File("d.csv"), "column,description\nage,\"years, at the visit\"\nsmoker,yes/no\n");
        Assert.Equal("years, at the visit", FeatureSelectionFiles.LoadDescriptions(tmp.File("d.csv"))["age"]);
        File.WriteAllText(tmp.File("two.csv"), "feature_name,meaning\nage,years\n");
        Assert.Equal("years", FeatureSelectionFiles.LoadDescriptions(tmp.File("two.csv"))["age"]);
    }

    [Fact]
    public void BadDescriptionFilesAreNamed()
    {
        using var tmp = new TempDir();
        Assert.Contains("'nope.json' does not exist", Assert.Throws<FileNotFoundException>(() => FeatureSelectionFiles.LoadDescriptions("nope.json")).Message);
        File.WriteAllText(tmp.File("bad.json"), "[1,2]");
        Assert.Contains("must hold a JSON object", Assert.Throws<FormatException>(() => FeatureSelectionFiles.LoadDescriptions(tmp.File("bad.json"))).Message);
        File.WriteAllText(tmp.File("dup.csv"), "column,description\nage,a\nage,b\n");
        Assert.Contains("describes 'age' twice", Assert.Throws<FormatException>(() => FeatureSelectionFiles.LoadDescriptions(tmp.File("dup.csv"))).Message);
        File.WriteAllText(tmp.File("three.csv"), "a,b,c\n1,2,3\n");
        Assert.Contains("needs a header with 'column' and 'description'", Assert.Throws<FormatException>(() => FeatureSelectionFiles.LoadDescriptions(tmp.File("three.csv"))).Message);
    }

    [Fact]
    public void RunWritesTheTablesAndTheModel()
    {
        using var tmp = new TempDir();
        string csv = Clinic.Make().WriteCsv(tmp.File("clinic.csv"));
        var o = Clinic.Options("", FeatureSelectionMode.Data);
        var run = FeatureSelectionFiles.Run(csv, tmp.File("out"), o, null);
        Assert.True(File.Exists(run.ModelPath));
        Assert.StartsWith("rank,column,kind,kept", File.ReadAllText(run.CsvPath));
        var md = File.ReadAllText(run.MarkdownPath);
        Assert.StartsWith("# Feature selection for 'outcome' in clinic.csv", md);
        Assert.Contains("| 1 | ", md);
        Assert.Equal(3, run.Transformer.SelectedColumns.Count);

        var e = Assert.Throws<ArgumentException>(() => FeatureSelectionFiles.Run(csv, tmp.File("out2"), Clinic.Options("", FeatureSelectionMode.Data).With(x => x.LabelColumnName = "sick"), null));
        Assert.Contains("Options.LabelColumnName 'sick' is not a column of", e.Message);
    }
}

internal static class OptionsExtensions
{
    public static LlmFeatureSelectionEstimator.Options With(this LlmFeatureSelectionEstimator.Options o, Action<LlmFeatureSelectionEstimator.Options> change)
    {
        change(o);
        return o;
    }
}
