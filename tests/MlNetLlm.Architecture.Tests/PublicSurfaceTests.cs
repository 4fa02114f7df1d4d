using System.Reflection;
using Microsoft.ML;

namespace MlNetLlm.Architecture.Tests;

/// <summary>
/// The public surface a user sees: no TorchSharp type outside the modeling core (an app that trains through ML.NET
/// needs no TorchSharp in its own code), and estimators made only through their catalogs, as ML.NET's are.
/// </summary>
public class PublicSurfaceTests
{
    private static readonly Assembly[] Adapters =
    [
        typeof(MlNetLlm.Estimators.TextTrainerOptions).Assembly, typeof(MlNetLlm.Transforms.Embeddings.TextEmbeddingOptions).Assembly,
        typeof(MlNetLlm.AutoMl.Experiments.ExperimentOptions).Assembly, typeof(MlNetLlm.Onnx.OnnxTextPredictionTransformer).Assembly,
    ];

    private static readonly Assembly TorchSharpAssembly = typeof(TorchSharp.torch).Assembly;

    /// <summary>Every type a public member of a public type names: its fields, properties, method parameters and returns.</summary>
    internal static IEnumerable<(string Member, Type Type)> PublicSignatures(Type t)
    {
        const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var f in t.GetFields(flags)) yield return ($"{t.FullName}.{f.Name}", f.FieldType);
        foreach (var p in t.GetProperties(flags)) yield return ($"{t.FullName}.{p.Name}", p.PropertyType);
        foreach (var m in t.GetMethods(flags).Where(m => !m.IsSpecialName))
        {
            yield return ($"{t.FullName}.{m.Name}", m.ReturnType);
            foreach (var p in m.GetParameters()) yield return ($"{t.FullName}.{m.Name}({p.Name})", p.ParameterType);
        }
        foreach (var c in t.GetConstructors(BindingFlags.Public | BindingFlags.Instance))
            foreach (var p in c.GetParameters()) yield return ($"{t.FullName}..ctor({p.Name})", p.ParameterType);
        if (t.BaseType is { } b) yield return ($"{t.FullName} : base", b);
    }

    private static IEnumerable<Type> Unwrap(Type t)
    {
        yield return t;
        if (t.HasElementType) foreach (var u in Unwrap(t.GetElementType()!)) yield return u;
        if (t.IsGenericType) foreach (var a in t.GetGenericArguments()) foreach (var u in Unwrap(a)) yield return u;
    }

    [Fact]
    public void No_public_member_outside_the_core_names_a_torchsharp_type()
    {
        var offenders = Adapters.SelectMany(a => a.GetExportedTypes())
            .SelectMany(PublicSignatures)
            .Where(s => Unwrap(s.Type).Any(u => u.Assembly == TorchSharpAssembly))
            .Select(s => $"{s.Member}: {s.Type.Name}").Distinct().ToList();
        Assert.True(offenders.Count == 0, "public TorchSharp types:\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void Estimators_have_no_public_constructor()
    {
        var offenders = Adapters.SelectMany(a => a.GetExportedTypes())
            .Where(t => !t.IsAbstract && t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEstimator<>)))
            .Where(t => t.GetConstructors(BindingFlags.Public | BindingFlags.Instance).Length > 0)
            .Select(t => t.FullName).ToList();
        Assert.True(offenders.Count == 0, "estimators with a public constructor (make them through the catalog):\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void The_surface_rules_see_real_types()
    {
        // The checks above must be able to fail: the core's public types do name TorchSharp, and IEstimator is found.
        Assert.Contains(typeof(MlNetLlm.Modeling.PretrainedTransformer).Assembly.GetExportedTypes().SelectMany(PublicSignatures),
            s => Unwrap(s.Type).Any(u => u.Assembly == TorchSharpAssembly));
        Assert.Contains(Adapters.SelectMany(a => a.GetExportedTypes()),
            t => t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEstimator<>)));
    }
}
