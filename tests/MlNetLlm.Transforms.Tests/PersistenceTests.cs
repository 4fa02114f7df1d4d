using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Transforms.FeatureSelection;

namespace MlNetLlm.Transforms.Tests;

public class PersistenceTests
{
    private static FakeReply Good(FakeRequest r) =>
        new(FakeLlmServer.ScoresJson(r.FeatureNames.Select(n => (n, Clinic.GoodScore(n)))));

    [Fact]
    public void ZipRoundTripInThisProcessKeepsOutputAndReport()
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(Good);
        var data = Clinic.Make().ToDataView();
        var o = Clinic.Options(tmp.File("cache"), FeatureSelectionMode.Blend);
        var t = new LlmFeatureSelectionEstimator(o, Clients.OpenAi(server)).Fit(data);
        var ml = new MLContext();
        string zip = tmp.File("model.zip");
        ml.Model.Save(t, data.Schema, zip);

        var loaded = ml.Model.Load(zip, out var schema);
        var back = Assert.IsType<LlmFeatureSelectionTransformer>(loaded);
        Assert.Equal(t.SelectedColumns, back.SelectedColumns);
        Assert.Equal(t.Report.ToCsv(), back.Report.ToCsv());
        Assert.Equal(t.Report.ToMarkdown(), back.Report.ToMarkdown());
        Assert.Equal(t.Report.LlmWeight, back.Report.LlmWeight);
        Assert.Equal(t.Report.Mode, back.Report.Mode);
        Assert.Equal(t.Report.CrossValidation.Select(c => c.MeanScore), back.Report.CrossValidation.Select(c => c.MeanScore));
        Assert.Equal(data.Schema.Select(c => c.Name), schema.Select(c => c.Name));
        Assert.Equal(Features(t.Transform(data)), Features(back.Transform(data)));
    }

    [Fact]
    public async Task ZipRoundTripInAFreshProcess()
    {
        using var tmp = new TempDir();
        using var server = new FakeLlmServer(Good);
        string csv = Clinic.Make().WriteCsv(tmp.File("clinic.csv"));
        var o = Clinic.Options(tmp.File("cache"), FeatureSelectionMode.Llm);
        o.KeepCount = 4; // pressure, smoker, age and region: numbers with imputed gaps and two one-hot columns
        var run = FeatureSelectionFiles.Run(csv, tmp.File("out"), o, Clients.Ollama(server));
        Assert.Contains("region", run.Transformer.SelectedColumns);

        string expected = Program.TransformToText(run.ModelPath, csv, "outcome");
        Assert.Equal(400, expected.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        string output = tmp.File("fresh.txt");
        var psi = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { typeof(Program).Assembly.Location, "roundtrip", run.ModelPath, csv, "outcome", output },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try { await p.WaitForExitAsync(limit.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail("the fresh process did not finish in 90 s");
        }
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}: {await stderr} {await stdout}");
        Assert.Equal(expected, File.ReadAllText(output));
    }

    [Fact]
    public void LoadedModelStillChecksItsInputColumns()
    {
        using var tmp = new TempDir();
        var data = Clinic.Make().ToDataView();
        var o = Clinic.Options("", FeatureSelectionMode.Data);
        var t = new LlmFeatureSelectionEstimator(o).Fit(data);
        var ml = new MLContext();
        ml.Model.Save(t, data.Schema, tmp.File("m.zip"));
        var back = ml.Model.Load(tmp.File("m.zip"), out _);
        var missing = new InMemoryDataViewBuilder(2).AddFloat("age", [1, 2]).Build();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => back.Transform(missing));
        Assert.Contains($"Column '{t.SelectedColumns.First(c => c != "age")}', kept by the LLM feature selection, is not in the input schema", e.Message);
    }

    internal static List<float[]> Features(IDataView data, string column = "Features")
    {
        var col = data.Schema[column];
        var rows = new List<float[]>();
        using var cursor = data.GetRowCursor([col]);
        var get = cursor.GetGetter<VBuffer<float>>(col);
        VBuffer<float> v = default;
        while (cursor.MoveNext())
        {
            get(ref v);
            rows.Add(v.DenseValues().ToArray());
        }
        return rows;
    }
}
