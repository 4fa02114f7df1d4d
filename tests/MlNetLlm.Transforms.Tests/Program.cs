using System.Globalization;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet.Data;

namespace MlNetLlm.Transforms.Tests;

/// <summary>
/// This test assembly doubles as a small program so a test can load a saved model in a fresh process:
/// <c>dotnet MlNetLlm.Transforms.Tests.dll roundtrip MODEL.zip DATA.csv LABEL OUT.txt</c> loads the zip with
/// plain <c>mlContext.Model.Load</c>, transforms the CSV and writes the Features rows, one per line.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (FreshProcess.Run(args) is { } code) return code;
        if (args is ["roundtrip", var zip, var csv, var label, var output])
        {
            File.WriteAllText(output, TransformToText(zip, csv, label));
            return 0;
        }
        Console.Error.WriteLine($"usage: roundtrip MODEL.zip DATA.csv LABEL OUT.txt | {FreshProcess.Usage}");
        return 2;
    }

    public static Dictionary<string, List<float[]>> ScoreInFreshProcess(string zip, string inputCsv, bool withoutTorch = false) =>
        TestProcesses.ScoreInFreshProcess(typeof(Program).Assembly, zip, inputCsv, withoutTorch);

    /// <summary>Loads the model and prints the Features column of the CSV's rows ("R" floats, so text equality is bit equality).</summary>
    public static string TransformToText(string zip, string csv, string label, string column = "Features")
    {
        var ml = new MLContext();
        var data = CsvTable.Load(csv).ToDataView(ml, textColumns: [label]);
        var model = ml.Model.Load(zip, out _);
        var output = model.Transform(data);
        var sb = new StringBuilder();
        var col = output.Schema[column];
        using var cursor = output.GetRowCursor([col]);
        var get = cursor.GetGetter<VBuffer<float>>(col);
        VBuffer<float> v = default;
        while (cursor.MoveNext())
        {
            get(ref v);
            sb.Append(string.Join(" ", v.DenseValues().Select(x => x.ToString("R", CultureInfo.InvariantCulture)))).Append('\n');
        }
        return sb.ToString();
    }
}
