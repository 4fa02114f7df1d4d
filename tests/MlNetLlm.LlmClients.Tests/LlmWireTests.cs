using System.Diagnostics;
using System.Text.Json;
using MlNetLlm.Transforms.FeatureSelection;

using MlNetLlm.Transforms.Tests;

namespace MlNetLlm.LlmClients.Tests;

/// <summary>
/// The estimator against the real OpenAI and OllamaSharp clients, talking to a loopback server in their wire
/// formats: parsing, retries, refusals, timeouts, batching, caching.
/// </summary>
public class LlmWireTests
{
    public static TheoryData<string> Kinds => new() { "openai", "ollama" };

    private static FakeReply Good(FakeRequest r) =>
        new(FakeLlmServer.ScoresJson(r.FeatureNames.Select(n => (n, Clinic.GoodScore(n)))));

    private static LlmFeatureSelectionTransformer Fit(string kind, FakeLlmServer server, LlmFeatureSelectionEstimator.Options o, bool withUseless = false) =>
        new LlmFeatureSelectionEstimator(o, Clients.Make(kind, server)).Fit(Clinic.Make().ToDataView(withUseless));

    [Theory, MemberData(nameof(Kinds))]
    public void LlmModeKeepsWhatTheModelRatesHighest(string kind)
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(Good);
        var t = Fit(kind, server, Clinic.Options(tmp.Path));

        Assert.Equal(1, server.RequestCount);
        Assert.Equal(FeatureSelectionMode.Llm, t.Report.Mode);
        Assert.False(t.Report.FellBackToData);
        Assert.Equal(1.0, t.Report.LlmWeight);
        Assert.Equal(["pressure", "smoker", "age"], t.Report.KeptColumns);
        var p = t.Report.Features.Single(f => f.Name == "pressure");
        Assert.Equal(0.9, p.LlmScore);
        Assert.Equal("reason for pressure", p.LlmReason);
        Assert.Equal(kind == "openai" ? "gpt-test" : "llama-test", t.Report.LlmModel);
        // Every usable column was asked about, with the task in the prompt.
        Assert.Equal(Clinic.Usable.Order(), server.Requests[0].FeatureNames.Order());
        Assert.Contains("clinic patient is sick", server.Requests[0].UserPrompt);
    }

    [Fact]
    public void OpenAiRequestAsksForTemperatureZeroAndTheJsonSchema()
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(Good);
        Fit("openai", server, Clinic.Options(tmp.Path));
        var body = server.Requests[0].Body;
        Assert.Equal("gpt-test", (string?)body["model"]);
        Assert.Equal(0.0, (double)body["temperature"]!);
        Assert.Equal("json_schema", (string?)body["response_format"]!["type"]);
        Assert.Equal("feature_importance", (string?)body["response_format"]!["json_schema"]!["name"]);
        Assert.Equal("array", (string?)body["response_format"]!["json_schema"]!["schema"]!["properties"]!["features"]!["type"]);
    }

    [Fact]
    public void OllamaRequestAsksForTemperatureZeroAndTheJsonSchema()
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(Good);
        Fit("ollama", server, Clinic.Options(tmp.Path));
        var body = server.Requests[0].Body;
        Assert.Equal("llama-test", (string?)body["model"]);
        Assert.Equal(0.0, (double)body["options"]!["temperature"]!);
        Assert.Equal("object", (string?)body["format"]!["type"]);
        Assert.NotNull(body["format"]!["properties"]!["features"]);
    }

    [Theory, MemberData(nameof(Kinds))]
    public void MalformedJsonIsRetriedWithTheProblemStated(string kind)
    {
        using var tmp = new TempDir();
        int n = 0;
        using var server = new FakeLlmServer(r => Interlocked.Increment(ref n) == 1 ? new FakeReply("{\"features\": [{\"name\": \"pressure\", \"score\": 0.9") : Good(r));
        var t = Fit(kind, server, Clinic.Options(tmp.Path));

        Assert.Equal(2, server.RequestCount);
        Assert.Contains("could not be used", server.Requests[1].UserPrompt);
        Assert.Contains("not JSON", server.Requests[1].UserPrompt);
        Assert.Equal(FeatureSelectionMode.Llm, t.Report.Mode);
        Assert.All(t.Report.Features, f => Assert.NotNull(f.LlmScore));
    }

    [Theory, MemberData(nameof(Kinds))]
    public void MissingFeaturesAreAskedAgainAlone(string kind)
    {
        using var tmp = new TempDir();
        int n = 0;
        using var server = new FakeLlmServer(r => Interlocked.Increment(ref n) == 1
            ? new FakeReply(FakeLlmServer.ScoresJson(r.FeatureNames.Take(3).Select(x => (x, Clinic.GoodScore(x)))))
            : Good(r));
        var t = Fit(kind, server, Clinic.Options(tmp.Path));

        Assert.Equal(2, server.RequestCount);
        var first = server.Requests[0].FeatureNames;
        Assert.Equal(first.Skip(3), server.Requests[1].FeatureNames);
        Assert.Contains("no valid score for 4 feature(s)", server.Requests[1].UserPrompt);
        Assert.All(t.Report.Features, f => Assert.NotNull(f.LlmScore));
    }

    [Theory, MemberData(nameof(Kinds))]
    public void ScoresOutOfRangeAreRejectedAndRetried(string kind)
    {
        using var tmp = new TempDir();
        int n = 0;
        // First on a 0–10 scale, then right.
        using var server = new FakeLlmServer(r => Interlocked.Increment(ref n) == 1
            ? new FakeReply(FakeLlmServer.ScoresJson(r.FeatureNames.Select(x => (x, Clinic.GoodScore(x) * 10))))
            : Good(r));
        var t = Fit(kind, server, Clinic.Options(tmp.Path));

        Assert.Equal(2, server.RequestCount);
        Assert.Contains("is outside 0–1", server.Requests[1].UserPrompt);
        Assert.Equal(0.9, t.Report.Features.Single(f => f.Name == "pressure").LlmScore);
    }

    [Theory, MemberData(nameof(Kinds))]
    public void ScoresStillOutOfRangeAfterRetriesLeaveTheDataScoreInTheirPlace(string kind)
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(r => new FakeReply(FakeLlmServer.ScoresJson(
            r.FeatureNames.Select(x => (x, x == "noise_a" ? 7.0 : Clinic.GoodScore(x))))));
        var o = Clinic.Options(tmp.Path);
        o.MaxRetries = 1;
        var t = Fit(kind, server, o);

        Assert.Equal(2, server.RequestCount); // first try + one retry for noise_a only
        Assert.Equal(["noise_a"], server.Requests[1].FeatureNames);
        var a = t.Report.Features.Single(f => f.Name == "noise_a");
        Assert.Null(a.LlmScore);
        Assert.Equal(a.DataScore, a.Score);
        Assert.Equal("no LLM score: data score used", a.Note);
        Assert.Contains(t.Report.Notes, x => x.Contains("no usable score for 1 of 7 columns") && x.Contains("'noise_a'"));
        Assert.Equal(FeatureSelectionMode.Llm, t.Report.Mode);
    }

    [Fact]
    public void OpenAiRefusalIsRetriedThenFallsBackToData()
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(_ => new FakeReply(null, Refusal: "I can't help with medical data."));
        var t = Fit("openai", server, Clinic.Options(tmp.Path));

        Assert.Equal(3, server.RequestCount); // 1 + MaxRetries
        Assert.Equal(FeatureSelectionMode.Data, t.Report.Mode);
        Assert.True(t.Report.FellBackToData);
        Assert.Contains(t.Report.Notes, x => x.Contains("refused") && x.Contains("fell back to data evidence"));
        Assert.All(t.Report.Features, f => Assert.Null(f.LlmScore));
        Assert.Equal(3, t.Report.KeptColumns.Count);
    }

    [Theory, MemberData(nameof(Kinds))]
    public void SlowRepliesTimeOutAndFitFallsBackWithoutHanging(string kind)
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(_ => new FakeReply("{}", Delay: TimeSpan.FromSeconds(30)));
        var o = Clinic.Options(tmp.Path);
        o.RequestTimeout = TimeSpan.FromMilliseconds(400);
        o.MaxRetries = 1;
        var sw = Stopwatch.StartNew();
        var t = Fit(kind, server, o);
        sw.Stop();

        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"fit took {sw.Elapsed}");
        Assert.Equal(2, server.WaitForRequestCount(2, TimeSpan.FromSeconds(10)));
        Assert.True(t.Report.FellBackToData);
        Assert.Equal(FeatureSelectionMode.Data, t.Report.Mode);
        Assert.Contains(t.Report.Notes, x => x.Contains("no reply within 0.4 s"));
    }

    [Theory, MemberData(nameof(Kinds))]
    public void GarbageForEveryPromptStopsAskingAndFallsBack(string kind)
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(_ => new FakeReply("I think pressure matters most, then age."));
        var o = Clinic.Options(tmp.Path);
        o.BatchSize = 2; // 4 batches
        var sw = Stopwatch.StartNew();
        var t = Fit(kind, server, o);

        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20));
        Assert.Equal(6, server.RequestCount); // two batches × (1 + 2 retries), then it stops asking
        Assert.True(t.Report.FellBackToData);
        Assert.Contains(t.Report.Notes, x => x.Contains("2 batches in a row gave no usable score") && x.Contains("not JSON"));
        Assert.Equal(0, tmp.Path is var p ? Directory.GetFiles(p, "*.json", SearchOption.AllDirectories).Length : -1); // nothing cached
    }

    [Theory, MemberData(nameof(Kinds))]
    public void ServerErrorsFallBackToData(string kind)
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(_ => new FakeReply(null, Status: 500, RawBody: "<html>oops</html>"));
        var o = Clinic.Options(tmp.Path);
        o.MaxRetries = 0;
        var t = Fit(kind, server, o);
        Assert.Equal(1, server.RequestCount);
        Assert.True(t.Report.FellBackToData);
        Assert.Contains(t.Report.Notes, x => x.Contains("the request failed"));
    }

    [Theory, MemberData(nameof(Kinds))]
    public void WideTablesAreScoredInBatches(string kind)
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(Good);
        var o = Clinic.Options(tmp.Path);
        o.BatchSize = 3;
        var t = Fit(kind, server, o);

        Assert.Equal(3, server.RequestCount); // 7 columns in 3 + 3 + 1
        Assert.Equal([3, 3, 1], server.Requests.Select(r => r.FeatureNames.Count));
        Assert.Equal(Clinic.Usable.Order(), server.Requests.SelectMany(r => r.FeatureNames).Order());
        Assert.All(t.Report.Features, f => Assert.NotNull(f.LlmScore));
    }

    [Theory, MemberData(nameof(Kinds))]
    public void RefitIsAnsweredFromTheCacheKeyedByModelAndPrompt(string kind)
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(Good);
        var o = Clinic.Options(tmp.Path);
        var first = Fit(kind, server, o);
        Assert.Equal(1, first.Report.LlmRequests);
        Assert.Equal(0, first.Report.LlmCacheHits);

        // A dead endpoint: only the cache can answer.
        using var dead = new FakeLlmServer(_ => new FakeReply("garbage"));
        var second = Fit(kind, dead, o);
        Assert.Equal(0, dead.RequestCount);
        Assert.Equal(0, second.Report.LlmRequests);
        Assert.Equal(1, second.Report.LlmCacheHits);
        Assert.Equal(first.Report.KeptColumns, second.Report.KeptColumns);
        Assert.Equal(first.Report.Features.Select(f => f.LlmReason), second.Report.Features.Select(f => f.LlmReason));

        // Another model, or another task, is a new question.
        var other = new LlmFeatureSelectionEstimator(o, Clients.Make(kind, server, "another-model")).Fit(Clinic.Make().ToDataView());
        Assert.Equal(1, other.Report.LlmRequests);
        o.TaskDescription = "Predict something else.";
        var third = Fit(kind, server, o);
        Assert.Equal(1, third.Report.LlmRequests);
        Assert.Equal(3, server.RequestCount);
    }

    [Fact]
    public void WithoutACacheDirectoryEveryFitAsks()
    {
        using var server = new FakeLlmServer(Good);
        var o = Clinic.Options("");
        Fit("openai", server, o);
        Fit("openai", server, o);
        Assert.Equal(2, server.RequestCount);
    }

    [Fact]
    public void ADamagedCacheEntryIsAskedAgain()
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(Good);
        var o = Clinic.Options(tmp.Path);
        Fit("openai", server, o);
        foreach (var f in Directory.GetFiles(tmp.Path, "*.json", SearchOption.AllDirectories)) File.WriteAllText(f, "{not json");
        var t = Fit("openai", server, o);
        Assert.Equal(2, server.RequestCount);
        Assert.Equal(FeatureSelectionMode.Llm, t.Report.Mode);
    }

    [Theory, MemberData(nameof(Kinds))]
    public void BlendWithAGoodLlmIsNeverWorseThanDataOnTheFolds(string kind)
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(Good);
        var o = Clinic.Options(tmp.Path, FeatureSelectionMode.Blend);
        var t = Fit(kind, server, o);

        Assert.Equal(FeatureSelectionMode.Blend, t.Report.Mode);
        Assert.Equal([0, 0.25, 0.5, 0.75, 1], t.Report.CrossValidation.Select(c => c.Weight));
        var chosen = t.Report.CrossValidation.Single(c => c.Weight == t.Report.LlmWeight);
        var dataOnly = t.Report.CrossValidation.Single(c => c.Weight == 0);
        Assert.True(chosen.MeanScore >= dataOnly.MeanScore);
        Assert.Equal(t.Report.CrossValidation.Max(c => c.MeanScore), chosen.MeanScore);
        Assert.Equal(["age", "pressure", "smoker"], t.Report.KeptColumns.Order());
    }

    [Fact]
    public void BlendWithAMisleadingLlmKeepsTrustLowAndTheDataSelection()
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(r => new FakeReply(FakeLlmServer.ScoresJson(r.FeatureNames.Select(n => (n, Clinic.BadScore(n))))));
        var o = Clinic.Options(tmp.Path, FeatureSelectionMode.Blend);
        var blend = Fit("openai", server, o);
        o.Mode = FeatureSelectionMode.Data;
        var data = Fit("openai", server, o);

        var cv = blend.Report.CrossValidation;
        Assert.True(cv.Single(c => c.Weight == blend.Report.LlmWeight).MeanScore >= cv.Single(c => c.Weight == 0).MeanScore);
        Assert.True(cv.Single(c => c.Weight == 1).MeanScore < cv.Single(c => c.Weight == 0).MeanScore - 0.05, "a backwards LLM should cost AUC at full trust");
        Assert.True(blend.Report.LlmWeight <= 0.5);
        Assert.Equal(data.Report.KeptColumns.Order(), blend.Report.KeptColumns.Order());
        Assert.Equal(1, server.RequestCount); // data mode does not ask the LLM
    }

    [Fact]
    public void ReasoningModelsThinkingAndCodeFencesAreParsed()
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(r => new FakeReply(
            "<think>Blood pressure {is} key...</think>\nHere you go:\n```json\n" +
            FakeLlmServer.ScoresJson(r.FeatureNames.Select(n => (n.ToUpperInvariant(), Clinic.GoodScore(n)))) + "\n```"));
        var t = Fit("ollama", server, Clinic.Options(tmp.Path));
        Assert.Equal(1, server.RequestCount);
        Assert.All(t.Report.Features, f => Assert.NotNull(f.LlmScore));
    }

    [Fact]
    public void ExcludedColumnsAreNotSentToTheLlm()
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(Good);
        var t = Fit("openai", server, Clinic.Options(tmp.Path), withUseless: true);
        Assert.DoesNotContain("constant", server.Requests[0].FeatureNames);
        Assert.DoesNotContain("empty", server.Requests[0].FeatureNames);
        Assert.Equal(Clinic.Usable.Length, server.Requests[0].FeatureNames.Count);
        Assert.False(t.Report.Features.Single(f => f.Name == "constant").Kept);
    }

    [Fact]
    public void DescriptionsReachThePrompt()
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(Good);
        var o = Clinic.Options(tmp.Path);
        o.ColumnDescriptions = new() { ["pressure"] = "systolic blood pressure, mmHg", ["outcome"] = "sick or well at the next visit" };
        Fit("openai", server, o);
        var prompt = server.Requests[0].UserPrompt;
        Assert.Contains("- \"pressure\" (numeric): systolic blood pressure, mmHg", prompt);
        Assert.Contains("- \"smoker\" (categorical)", prompt);
        Assert.Contains("Target: \"outcome\": sick or well at the next visit", prompt);
    }
}
