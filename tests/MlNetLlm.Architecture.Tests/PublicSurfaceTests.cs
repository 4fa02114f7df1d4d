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

    /// <summary>The core's own entry points for code that works below ML.NET (samples/EncodeSentences, a tokenizer alone).</summary>
    private static readonly Type[] CoreEntryPoints = [typeof(MlNetLlm.Modeling.PretrainedTransformer), typeof(MlNetLlm.Tokenization.TokenizerLoader)];

    private static readonly Assembly[] Core = [typeof(MlNetLlm.Modeling.PretrainedTransformer).Assembly, typeof(MlNetLlm.Tokenization.TokenizerLoader).Assembly];

    [Fact]
    public void The_core_exports_only_what_the_public_api_names()
    {
        // A public type of the modeling core or the tokenizers must be reachable from the adapters' public members or
        // the core's entry points, or be an exception a caller catches; BERT's submodules, the tokenizer's steps and the
        // checkpoint readers are internal.
        var offenders = CoreTypesNotReachable();
        Assert.True(offenders.Count == 0, "public core types no public API names (make them internal):\n" + string.Join("\n", offenders));
    }

    /// <summary><paramref name="roots"/> and every public core type their public members name, transitively (an internal
    /// type's members are out of a user's reach, so the walk does not follow them).</summary>
    private static HashSet<Type> Reach(IEnumerable<Type> roots)
    {
        var reached = new HashSet<Type>();
        var queue = new Queue<Type>(roots);
        while (queue.TryDequeue(out var t))
        {
            if (!reached.Add(t)) continue;
            foreach (var (_, named) in PublicSignatures(t))
                foreach (var u in Unwrap(named).Where(u => u.IsVisible && Core.Contains(u.Assembly) && !reached.Contains(u)))
                    queue.Enqueue(u);
            foreach (var i in t.GetInterfaces().Where(i => i.IsVisible && Core.Contains(i.Assembly))) queue.Enqueue(i);
        }
        return reached;
    }

    /// <summary>Public members of core types that an ML.NET user meets through the adapters (TextTrainerOptions.Device's
    /// DeviceOptions, the reports, the enums) and that name a TorchSharp type.</summary>
    internal static List<string> TorchSharpReachedThroughAdapters(params Type[] alsoNamed) =>
        Reach(Adapters.SelectMany(a => a.GetExportedTypes()).Concat(alsoNamed))
            .Where(t => Core.Contains(t.Assembly))
            .SelectMany(PublicSignatures)
            .Where(s => Unwrap(s.Type).Any(u => u.Assembly == TorchSharpAssembly))
            .Select(s => $"{s.Member}: {s.Type.Name}").Distinct().ToList();

    [Fact]
    public void Core_types_the_adapters_name_show_no_torchsharp_type()
    {
        var offenders = TorchSharpReachedThroughAdapters();
        Assert.True(offenders.Count == 0, "TorchSharp in core types the adapters' API names (make the member internal):\n" + string.Join("\n", offenders));
    }

    internal static List<string> CoreTypesNotReachable(params Type[] alsoExported)
    {
        var reached = Reach(Adapters.SelectMany(a => a.GetExportedTypes()).Concat(CoreEntryPoints));
        return Core.SelectMany(a => a.GetExportedTypes()).Concat(alsoExported)
            .Where(t => !reached.Contains(t) && !(t.IsNested && reached.Contains(t.DeclaringType!)) && !typeof(Exception).IsAssignableFrom(t))
            .Select(t => t.FullName!).ToList();
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
        // An internal module, were it exported, would be named: the reachability walk does not pass everything.
        var bertLayer = typeof(MlNetLlm.Modeling.PretrainedTransformer).Assembly.GetType("MlNetLlm.Modeling.Architectures.BertLayer", throwOnError: true)!;
        Assert.Contains(bertLayer.FullName!, CoreTypesNotReachable(bertLayer));
        // PretrainedTransformer (the core's own entry point, below ML.NET) does name TorchSharp: were an adapter to name
        // it, the rule above would say so.
        Assert.NotEmpty(TorchSharpReachedThroughAdapters(typeof(MlNetLlm.Modeling.PretrainedTransformer)));
    }
}
