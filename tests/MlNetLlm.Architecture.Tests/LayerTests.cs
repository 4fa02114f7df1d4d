using System.Reflection;
using ArchUnitNET.Domain;
using ArchUnitNET.Fluent;
using ArchUnitNET.Loader;
using ArchUnitNET.xUnit;
using static ArchUnitNET.Fluent.ArchRuleDefinition;
using ArchAssembly = System.Reflection.Assembly;

namespace MlNetLlm.Architecture.Tests;

/// <summary>
/// The layers, one direction only: the tokenizers know neither TorchSharp nor ML.NET; the modeling core knows no ML.NET;
/// the ML.NET adapters (MlNet, Estimators, Transforms) know the core, except MlNet, which knows no TorchSharp; AutoMl knows
/// the adapters' options but no TorchSharp type; the CLI knows everything and nothing knows it; concrete LLM clients stay
/// out of the libraries; the ONNX scorer (Onnx) sits on MlNet and the tokenizers and knows no TorchSharp, so an app that
/// scores exported models carries no libtorch.
/// </summary>
public class LayerTests
{
    private static readonly ArchAssembly Tokenization = typeof(MlNetLlm.Tokenization.TextTokenizer).Assembly;
    private static readonly ArchAssembly Modeling = typeof(MlNetLlm.Modeling.PretrainedTransformer).Assembly;
    private static readonly ArchAssembly MlNet = typeof(MlNetLlm.MlNet.Data.CsvTable).Assembly;
    private static readonly ArchAssembly Estimators = typeof(MlNetLlm.Estimators.TextTrainerOptions).Assembly;
    private static readonly ArchAssembly Transforms = typeof(MlNetLlm.Transforms.Embeddings.TextEmbeddingOptions).Assembly;
    private static readonly ArchAssembly AutoMl = typeof(MlNetLlm.AutoMl.Experiments.ExperimentOptions).Assembly;
    private static readonly ArchAssembly LlmClients = typeof(MlNetLlm.LlmClients.LlmChatClients).Assembly;
    private static readonly ArchAssembly Models = typeof(MlNetLlm.Models.BundledModels).Assembly;
    private static readonly ArchAssembly Onnx = typeof(MlNetLlm.Onnx.OnnxTextPredictionTransformer).Assembly;
    private static readonly ArchAssembly Cli = typeof(MlNetLlm.Cli.Commands.CliOptionNames).Assembly;

    private static readonly ArchUnitNET.Domain.Architecture Architecture =
        new ArchLoader().LoadAssemblies(Tokenization, Modeling, MlNet, Estimators, Transforms, AutoMl, LlmClients, Models, Onnx, Cli,
            // The forbidden neighbours are loaded too: a rule only sees dependencies on types the architecture holds.
            typeof(TorchSharp.torch).Assembly, typeof(Microsoft.ML.MLContext).Assembly, typeof(Microsoft.ML.IDataView).Assembly, typeof(Microsoft.ML.Data.TextLoader).Assembly,
            typeof(OpenAI.OpenAIClient).Assembly, typeof(OllamaSharp.OllamaApiClient).Assembly).Build();

    private static readonly ArchAssembly[] Libraries = [Tokenization, Modeling, MlNet, Estimators, Transforms, AutoMl, LlmClients, Models, Onnx];

    private static ArchUnitNET.Fluent.Syntax.Elements.Types.GivenTypesConjunctionWithDescription In(ArchAssembly a) => Types().That().ResideInAssembly(a).As(a.GetName().Name!);

    private static IObjectProvider<IType> Namespace(string root) =>
        Types().That().ResideInNamespaceMatching($"^{root.Replace(".", "\\.")}(\\..*)?$").As(root);

    public static TheoryData<string, string> ForbiddenNamespaces => new()
    {
        // Tokenization needs neither TorchSharp nor ML.NET (ML.NET's Tokenizers package is not ML.NET): scoring without libtorch uses it.
        { "MlNetLlm.Tokenization", "TorchSharp" }, { "MlNetLlm.Tokenization", "Microsoft.ML.Data" }, { "MlNetLlm.Tokenization", "Microsoft.ML.Runtime" },
        { "MlNetLlm.Tokenization", "MlNetLlm.Modeling" }, { "MlNetLlm.Tokenization", "MlNetLlm.MlNet" },
        // The core: architectures, checkpoints, training.
        { "MlNetLlm.Modeling", "Microsoft.ML.Data" }, { "MlNetLlm.Modeling", "Microsoft.ML.Runtime" }, { "MlNetLlm.Modeling", "Microsoft.ML.Trainers" },
        { "MlNetLlm.Modeling", "MlNetLlm.MlNet" }, { "MlNetLlm.Modeling", "MlNetLlm.Estimators" }, { "MlNetLlm.Modeling", "MlNetLlm.Transforms" }, { "MlNetLlm.Modeling", "MlNetLlm.AutoMl" },
        { "MlNetLlm.MlNet", "TorchSharp" }, { "MlNetLlm.MlNet", "MlNetLlm.Modeling" }, { "MlNetLlm.MlNet", "MlNetLlm.Estimators" }, { "MlNetLlm.MlNet", "MlNetLlm.Transforms" }, { "MlNetLlm.MlNet", "MlNetLlm.AutoMl" },
        { "MlNetLlm.Estimators", "MlNetLlm.Transforms" }, { "MlNetLlm.Estimators", "MlNetLlm.AutoMl" },
        { "MlNetLlm.Transforms", "MlNetLlm.Estimators" }, { "MlNetLlm.Transforms", "MlNetLlm.AutoMl" },
        { "MlNetLlm.Transforms", "OpenAI" }, { "MlNetLlm.Transforms", "OllamaSharp" }, { "MlNetLlm.Transforms", "LLama" },
        // The ONNX scorer: ML.NET, ONNX Runtime and the tokenizers only.
        { "MlNetLlm.Onnx", "TorchSharp" }, { "MlNetLlm.Onnx", "MlNetLlm.Modeling" }, { "MlNetLlm.Onnx", "MlNetLlm.Estimators" }, { "MlNetLlm.Onnx", "MlNetLlm.Transforms" },
        { "MlNetLlm.Onnx", "MlNetLlm.AutoMl" }, { "MlNetLlm.Onnx", "MlNetLlm.Cli" },
        // AutoMl sees trainers through options and search spaces; device questions go to the core.
        { "MlNetLlm.AutoMl", "TorchSharp" },
        { "MlNetLlm.Tokenization", "MlNetLlm.Cli" }, { "MlNetLlm.Modeling", "MlNetLlm.Cli" }, { "MlNetLlm.MlNet", "MlNetLlm.Cli" }, { "MlNetLlm.Estimators", "MlNetLlm.Cli" },
        { "MlNetLlm.Transforms", "MlNetLlm.Cli" }, { "MlNetLlm.AutoMl", "MlNetLlm.Cli" }, { "MlNetLlm.LlmClients", "MlNetLlm.Cli" }, { "MlNetLlm.Models", "MlNetLlm.Cli" },
    };

    [Theory]
    [MemberData(nameof(ForbiddenNamespaces))]
    public void A_layer_uses_no_type_of_a_layer_above_it(string layer, string forbidden)
    {
        var assembly = Libraries.Single(a => a.GetName().Name == layer);
        In(assembly).Should().NotDependOnAny(Namespace(forbidden)).Check(Architecture);
    }

    public static TheoryData<string, string> ForbiddenReferences => new()
    {
        { "MlNetLlm.Tokenization", "TorchSharp" }, { "MlNetLlm.Tokenization", "Microsoft.ML" }, { "MlNetLlm.Tokenization", "Microsoft.ML.Core" },
        { "MlNetLlm.Tokenization", "Microsoft.ML.Data" }, { "MlNetLlm.Tokenization", "MlNetLlm.Modeling" },
        { "MlNetLlm.Modeling", "Microsoft.ML" }, { "MlNetLlm.Modeling", "Microsoft.ML.Core" }, { "MlNetLlm.Modeling", "Microsoft.ML.Data" },
        { "MlNetLlm.MlNet", "TorchSharp" }, { "MlNetLlm.MlNet", "MlNetLlm.Modeling" },
        { "MlNetLlm.Onnx", "TorchSharp" }, { "MlNetLlm.Onnx", "MlNetLlm.Modeling" }, { "MlNetLlm.Onnx", "MlNetLlm.Estimators" }, { "MlNetLlm.Onnx", "MlNetLlm.Transforms" },
        { "MlNetLlm.AutoMl", "TorchSharp" },
        { "MlNetLlm.Transforms", "MlNetLlm.Estimators" }, { "MlNetLlm.Transforms", "OpenAI" }, { "MlNetLlm.Transforms", "OllamaSharp" },
        { "MlNetLlm.Transforms", "Microsoft.Extensions.AI.OpenAI" }, { "MlNetLlm.Transforms", "LLamaSharp" },
    };

    [Theory]
    [MemberData(nameof(ForbiddenReferences))]
    public void A_layers_assembly_does_not_reference_what_it_must_not_know(string layer, string forbidden)
    {
        var assembly = Libraries.Single(a => a.GetName().Name == layer);
        Assert.DoesNotContain(forbidden, assembly.GetReferencedAssemblies().Select(r => r.Name));
    }

    [Fact]
    public void No_library_references_the_cli()
    {
        foreach (var a in Libraries)
            Assert.DoesNotContain(Cli.GetName().Name, a.GetReferencedAssemblies().Select(r => r.Name));
    }

    [Fact]
    public void No_library_project_references_the_cli_or_a_layer_above_it()
    {
        // The project files too: a reference the compiler drops (no type used yet) is still a wrong-way edge.
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "MlNetLlm.sln"))) root = root.Parent;
        Assert.NotNull(root);
        var allowed = new Dictionary<string, string[]>
        {
            ["Tokenization"] = [], ["Modeling"] = ["Tokenization"], ["MlNet"] = [], ["Estimators"] = ["Modeling", "MlNet"], ["Transforms"] = ["Modeling", "MlNet"],
            ["AutoMl"] = ["Modeling", "MlNet", "Estimators", "Transforms"], ["LlmClients"] = [], ["Models"] = ["Modeling"], ["Onnx"] = ["Tokenization", "MlNet"],
        };
        foreach (var (folder, ok) in allowed)
        {
            string csproj = Directory.GetFiles(Path.Combine(root!.FullName, "src", folder), "*.csproj").Single();
            var refs = System.Xml.Linq.XDocument.Load(csproj).Descendants("ProjectReference")
                .Select(r => Path.GetFileName(Path.GetDirectoryName(((string)r.Attribute("Include")!).Replace('\\', '/'))!)).ToList();
            var wrong = refs.Where(r => !ok.Contains(r)).ToList();
            Assert.True(wrong.Count == 0, $"src/{folder} references {string.Join(", ", wrong)}");
        }
    }

    [Fact]
    public void The_onnx_scorer_and_the_tokenizers_restore_no_torchsharp_or_libtorch()
    {
        // The whole package closure, as NuGet restored it: an app that references MlNetLlm.Onnx gets none of libtorch's 720 MB.
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "MlNetLlm.sln"))) root = root.Parent;
        foreach (var project in new[] { "Onnx", "Tokenization", "MlNet" })
        {
            using var assets = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(root!.FullName, "src", project, "obj", "project.assets.json")));
            var libraries = assets.RootElement.GetProperty("libraries").EnumerateObject().Select(l => l.Name).ToList();
            Assert.Contains(libraries, l => l.StartsWith(project == "Tokenization" ? "Microsoft.ML.Tokenizers/" : "Microsoft.ML/", StringComparison.Ordinal));
            var torch = libraries.Where(l => l.Contains("torch", StringComparison.OrdinalIgnoreCase)).ToList();
            Assert.True(torch.Count == 0, $"src/{project} restores {string.Join(", ", torch)}");
        }
    }

    [Fact]
    public void The_rules_see_real_dependencies()
    {
        // The checks above pass vacuously if the loader saw no dependencies at all: the known edges must be there.
        bool Uses(ArchAssembly a, string ns) => Types().That().ResideInAssembly(a).And().DependOnAny(Namespace(ns)).GetObjects(Architecture).Any();
        Assert.True(Uses(Estimators, "MlNetLlm.Modeling"));
        Assert.True(Uses(AutoMl, "MlNetLlm.Estimators"));
        Assert.True(Uses(Modeling, "TorchSharp"));
        Assert.True(Uses(Modeling, "MlNetLlm.Tokenization"));
        Assert.True(Uses(Onnx, "MlNetLlm.Tokenization"));
        Assert.True(Uses(Onnx, "MlNetLlm.MlNet"));
        Assert.True(Uses(Cli, "MlNetLlm.AutoMl"));
        Assert.Contains("TorchSharp", Estimators.GetReferencedAssemblies().Select(r => r.Name));
    }

    [Fact]
    public void Folder_project_assembly_and_namespace_agree()
    {
        // Every type of an assembly lives in the assembly's namespace (or below it).
        foreach (var a in Libraries.Append(Cli))
        {
            string root = a.GetName().Name!;
            var strays = a.GetTypes().Where(t => t.Namespace is { } ns && !ns.StartsWith("<", StringComparison.Ordinal) && ns != root && !ns.StartsWith(root + ".", StringComparison.Ordinal)
                                                 && !ns.StartsWith("System.Runtime.CompilerServices", StringComparison.Ordinal) && !ns.StartsWith("System.Text.RegularExpressions.Generated", StringComparison.Ordinal) && !ns.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal)).Select(t => t.FullName).ToList();
            Assert.True(strays.Count == 0, $"{root}: {string.Join(", ", strays.Take(5))}");
        }
    }
}
