using System.Runtime.CompilerServices;
using MlNetLlm.MlNet.Data;
using MlNetLlm.Models;

namespace MlNetLlm.TestSupport;

/// <summary>The bundled real models: their package files, a shared test cache, real review texts.</summary>
public static class BundledModelFiles
{
    /// <summary>Every test assembly that references this (and the CLI processes its tests start) caches bundled models under its own bin folder.</summary>
    public static string TestCache => Path.Combine(AppContext.BaseDirectory, "model-cache");

    [ModuleInitializer]
    internal static void UseTestCache()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(BundledModels.CacheVariable)))
            Environment.SetEnvironmentVariable(BundledModels.CacheVariable, TestCache);
    }

    public static byte[] Resource(string name, string suffix)
    {
        using var s = BundledModels.OpenPackageFile(name, suffix);
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    public static string WriteResource(string name, string suffix, string folder)
    {
        string path = Path.Combine(folder, $"{name}-{suffix}");
        File.WriteAllBytes(path, Resource(name, suffix));
        return path;
    }

    /// <summary>The texts the ONNX export and scoring tests compare on: real reviews, an empty text, a short one, symbols.</summary>
    public static readonly List<string> OnnxTexts = [.. Reviews(22), "", "ok", "Great!!! 5 stars $$$ <3 ~ © 😀"];

    /// <summary>The largest absolute difference between two equally shaped row sets.</summary>
    public static double MaxAbsDiff(float[][] a, float[][] b)
    {
        Xunit.Assert.Equal(a.Length, b.Length);
        return a.Zip(b, (x, y) => { Xunit.Assert.Equal(x.Length, y.Length); return x.Zip(y, (p, q) => (double)Math.Abs(p - q)).Max(); }).Max();
    }

    /// <summary>Real texts: the first <paramref name="n"/> Amazon Fine Foods reviews of the bundled data.</summary>
    public static List<string> Reviews(int n) =>
        CsvTable.Load(Path.Combine(Fixtures.Root, "data", "amazon_fine_foods.csv")) is var t ? t.Column(t.Header[t.ColumnIndex("review", "review")]).Take(n).ToList() : [];
}
