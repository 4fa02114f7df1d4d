using System.ClientModel;
using System.ClientModel.Primitives;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.ML;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Transforms.FeatureSelection;
using OllamaSharp;
using OpenAI;

namespace MlNetLlm.Transforms.Tests;

/// <summary>
/// A small synthetic clinic table: 'pressure', 'age' and 'smoker' drive the label, the rest is noise, a constant and
/// an all-missing column. Small enough that a fit with cross-validation takes well under a second.
/// </summary>
public sealed class Clinic
{
    public static readonly string[] Informative = ["pressure", "age", "smoker"];
    public static readonly string[] Noise = ["noise_a", "noise_b", "noise_c", "region"];
    public static readonly string[] Usable = [.. Informative, .. Noise];

    public required float[] Pressure, Age, NoiseA, NoiseB, NoiseC, Constant, Empty;
    public required string[] Smoker, Region, Label;
    public int Rows => Label.Length;

    public static Clinic Make(int n = 400, int seed = 1)
    {
        var r = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
        var c = new Clinic
        {
            Pressure = new float[n], Age = new float[n], NoiseA = new float[n], NoiseB = new float[n], NoiseC = new float[n],
            Constant = Enumerable.Repeat(1f, n).ToArray(), Empty = Enumerable.Repeat(float.NaN, n).ToArray(),
            Smoker = new string[n], Region = new string[n], Label = new string[n],
        };
        string[] regions = ["north", "south", "east", "west"];
        for (int i = 0; i < n; i++)
        {
            c.Pressure[i] = (float)(120 + 15 * Normal());
            c.Age[i] = (float)Math.Round(50 + 12 * Normal());
            c.Smoker[i] = r.NextDouble() < 0.3 ? "yes" : "no";
            c.NoiseA[i] = (float)Normal();
            c.NoiseB[i] = (float)(10 * r.NextDouble());
            c.NoiseC[i] = (float)Normal();
            c.Region[i] = regions[r.Next(4)];
            double z = 0.12 * (c.Pressure[i] - 120) + 0.06 * (c.Age[i] - 50) + 1.2 * (c.Smoker[i] == "yes" ? 1 : 0) - 0.4;
            c.Label[i] = r.NextDouble() < 1 / (1 + Math.Exp(-z)) ? "sick" : "well";
        }
        c.Pressure[3] = float.NaN; // a few missing values to impute
        c.Age[7] = float.NaN;
        c.Smoker[11] = "";
        return c;
    }

    public IDataView ToDataView(bool withUseless = false)
    {
        var b = new InMemoryDataViewBuilder(Rows)
            .AddFloat("pressure", Pressure).AddFloat("age", Age).AddText("smoker", Smoker)
            .AddFloat("noise_a", NoiseA).AddFloat("noise_b", NoiseB).AddFloat("noise_c", NoiseC).AddText("region", Region)
            .AddText("outcome", Label);
        if (withUseless) b.AddFloat("constant", Constant).AddFloat("empty", Empty);
        return b.Build();
    }

    public string WriteCsv(string path)
    {
        var sb = new StringBuilder("pressure,age,smoker,noise_a,noise_b,noise_c,region,outcome\n");
        string F(float v) => float.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);
        for (int i = 0; i < Rows; i++)
            sb.Append($"{F(Pressure[i])},{F(Age[i])},{Smoker[i]},{F(NoiseA[i])},{F(NoiseB[i])},{F(NoiseC[i])},{Region[i]},{Label[i]}\n");
        File.WriteAllText(path, sb.ToString());
        return path;
    }

    /// <summary>Scores a well-informed LLM would give.</summary>
    public static double GoodScore(string name) => name switch
    {
        "pressure" => 0.9, "age" => 0.7, "smoker" => 0.8, "noise_a" => 0.1, "noise_b" => 0.05, "noise_c" => 0.1, "region" => 0.2, _ => 0.3,
    };

    /// <summary>Scores of an LLM that has it backwards.</summary>
    public static double BadScore(string name) => 1 - GoodScore(name);

    public static LlmFeatureSelectionEstimator.Options Options(string cacheDir, FeatureSelectionMode mode = FeatureSelectionMode.Llm) => new()
    {
        LabelColumnName = "outcome",
        TaskDescription = "Predict whether a clinic patient is sick from routine measurements.",
        Mode = mode,
        KeepCount = 3,
        CacheDirectory = cacheDir,
        RequestTimeout = TimeSpan.FromSeconds(10),
        MaxRetries = 2,
        CrossValidationFolds = 3,
    };
}

public static class Clients
{
    public static IChatClient OpenAi(FakeLlmServer server, string model = "gpt-test") =>
        new OpenAI.Chat.ChatClient(model, new ApiKeyCredential("test"), new OpenAIClientOptions
        {
            Endpoint = server.OpenAiEndpoint,
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        }).AsIChatClient();

    public static IChatClient Ollama(FakeLlmServer server, string model = "llama-test") => new OllamaApiClient(server.BaseUri, model);

    public static IChatClient Make(string kind, FakeLlmServer server, string? model = null) =>
        kind == "openai" ? OpenAi(server, model ?? "gpt-test") : Ollama(server, model ?? "llama-test");
}

/// <summary>A temporary folder deleted at the end of the test.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("mlnetllm-fs-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
