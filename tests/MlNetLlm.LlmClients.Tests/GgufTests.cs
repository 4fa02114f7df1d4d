using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using Microsoft.ML;
using MlNetLlm.LlmClients;
using MlNetLlm.Transforms.FeatureSelection;

using MlNetLlm.Transforms.Tests;

namespace MlNetLlm.LlmClients.Tests;

/// <summary>
/// gguf:PATH through LLamaSharp on a tiny random llama model that tests/fixtures/gguf/write_tiny_llama.py writes.
/// Its replies are noise, so these tests check plumbing (load, reply, grammar, errors), not quality.
/// </summary>
public class GgufTests
{
    // Written by tests/fixtures/gguf/write_tiny_llama.py (seed 1; the same bytes every run) and committed, so the
    // tests need no Python: `python3 tests/fixtures/gguf/write_tiny_llama.py tests/fixtures/gguf/tiny-llama.gguf`.
    private static readonly Lazy<string> TinyModel = new(() => Path.Combine(AppContext.BaseDirectory, "gguf", "tiny-llama.gguf"));

    private static readonly Lazy<GgufChatClient> Client = new(() => GgufChatClient.Load(TinyModel.Value));

    private static ChatOptions Json(string schema) => new()
    {
        Temperature = 0,
        MaxOutputTokens = 400,
        ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(schema).RootElement.Clone(), "reply"),
    };

    [Fact]
    public void WithoutALlamaSharpBackendTheErrorSaysWhichPackageToAdd()
    {
        // This test's own output carries the CPU backend; an empty application folder carries none.
        Assert.True(GgufChatClient.HasLlamaBackend(AppContext.BaseDirectory));
        string empty = Directory.CreateTempSubdirectory("no-llama-").FullName;
        try
        {
            Assert.False(GgufChatClient.HasLlamaBackend(empty));
        }
        finally
        {
            Directory.Delete(empty);
        }
    }

    [Fact]
    public void TheGrammarOfASmallSchemaIsExact()
    {
        var g = JsonSchemaGrammar.ToGbnf(JsonDocument.Parse("""{"type":"object","properties":{"ok":{"type":"boolean"},"kind":{"enum":["a","b"]}}}""").RootElement);
        Assert.StartsWith("root-kind ::= \"\\\"a\\\"\" | \"\\\"b\\\"\"\nroot ::= \"{\" \"\\\"ok\\\":\" boolean \",\\\"kind\\\":\" root-kind \"}\"\n", g);
        Assert.Contains("boolean ::= \"true\" | \"false\"\n", g);
    }

    [Fact]
    public void TheFeatureScorersSchemaHasAGrammar()
    {
        var g = JsonSchemaGrammar.ToGbnf(LlmFeatureScorer.ReplySchema);
        Assert.Contains("root ::= \"{\" \"\\\"features\\\":\" root-features \"}\"", g);
        Assert.Contains("root-features-item ::= \"{\" \"\\\"name\\\":\" string \",\\\"score\\\":\" number \",\\\"reason\\\":\" string \"}\"", g);
    }

    [Fact]
    public async Task TheTinyModelLoadsAndTheGrammarShapesItsReply()
    {
        var client = Client.Value;
        Assert.Equal("tiny-llama.gguf", client.GetService<ChatClientMetadata>()!.DefaultModelId);
        // Random weights would not write this by chance: the grammar leaves only {"ok":true} and {"ok":false}.
        var r = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Is this fine?")], Json("""{"type":"object","properties":{"ok":{"type":"boolean"}}}"""));
        Assert.Matches(new Regex("^\\{\"ok\":(true|false)\\}$"), r.Text);
        var e = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Pick one.")], Json("""{"type":"object","properties":{"pick":{"enum":["left","right"]}}}"""));
        Assert.Matches(new Regex("^\\{\"pick\":\"(left|right)\"\\}$"), e.Text);
        // Without a format the reply is free text (noise from random weights), cut at MaxOutputTokens: greedy decoding
        // makes the 8-token reply the start of the 16-token one, which is longer.
        var free8 = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Hello")], new ChatOptions { MaxOutputTokens = 8 });
        var free16 = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Hello")], new ChatOptions { MaxOutputTokens = 16 });
        Assert.Equal(ChatFinishReason.Length, free8.FinishReason);
        Assert.NotEmpty(free8.Text);
        Assert.StartsWith(free8.Text, free16.Text);
        Assert.True(free16.Text.Length > free8.Text.Length, $"16 tokens '{free16.Text}' should be longer than 8 '{free8.Text}'.");
    }

    [Fact]
    public void TheEstimatorRunsOnTheGgufClientAndReportsWhatItGot()
    {
        var o = Clinic.Options("", FeatureSelectionMode.Llm);
        o.MaxRetries = 0;
        o.BatchSize = 7;
        var data = Clinic.Make().ToDataView();
        var t = new MLContext().Transforms.FeatureSelection.SelectFeaturesWithLlm(o, Client.Value).Fit(data);
        Assert.Equal("tiny-llama.gguf", t.Report.LlmModel);
        Assert.Equal(1, t.Report.LlmRequests);
        // Random weights (greedy, so the same reply every run) name no feature: the fit falls back to the data, says
        // why, and keeps exactly what the data-only mode keeps.
        Assert.True(t.Report.FellBackToData, string.Join(" | ", t.Report.Notes));
        Assert.Contains(t.Report.Notes, n => n.StartsWith("The LLM (tiny-llama.gguf) gave no usable score"));
        var dataOnly = Clinic.Options("", FeatureSelectionMode.Data);
        var d = new MLContext().Transforms.FeatureSelection.SelectFeaturesWithLlm(dataOnly, Client.Value).Fit(data);
        Assert.Equal(0, d.Report.LlmRequests);
        Assert.Equal(d.Report.KeptColumns, t.Report.KeptColumns);
    }

    [Fact]
    public void BadFilesGiveClearErrors()
    {
        using var tmp = new TempDir();
        var missing = Assert.Throws<FileNotFoundException>(() => LlmChatClients.Create("gguf:" + tmp.File("none.gguf")));
        Assert.Contains($"GGUF model '{tmp.File("none.gguf")}' does not exist", missing.Message);
        File.WriteAllText(tmp.File("text.gguf"), "not a model");
        var notGguf = Assert.Throws<InvalidDataException>(() => GgufChatClient.Load(tmp.File("text.gguf")));
        Assert.Contains("is not a GGUF model file", notGguf.Message);
        // A real header cut short: llama.cpp refuses it, and the error names the file.
        File.WriteAllBytes(tmp.File("cut.gguf"), File.ReadAllBytes(TinyModel.Value)[..4096]);
        var cut = Assert.Throws<InvalidOperationException>(() => GgufChatClient.Load(tmp.File("cut.gguf")));
        Assert.Contains($"LLamaSharp could not load GGUF model '{tmp.File("cut.gguf")}'", cut.Message);
        Assert.Equal(("gguf", "/models/a@b:c.gguf", (string?)null), LlmChatClients.Parse("gguf:/models/a@b:c.gguf"));
    }
}
