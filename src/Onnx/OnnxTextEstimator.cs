using Microsoft.ML;
using MlNetLlm.MlNet;

namespace MlNetLlm.Onnx;

/// <summary>
/// What the ONNX estimators share: nothing is learned, so the constructor reads the export's manifest (refusing the
/// other kind of model) and Fit checks the schema and opens the graph.
/// </summary>
public abstract class OnnxTextEstimator<TOptions, TTransformer> : IEstimator<TTransformer>
    where TOptions : OnnxTextModelOptions where TTransformer : class, ITransformer
{
    private protected OnnxTextEstimator(TOptions options, string kind, Func<OnnxTextModelManifest, string> wrongKind)
    {
        Options = options;
        Manifest = options.ReadManifest();
        if (Manifest.Kind != kind) throw new ArgumentException(wrongKind(Manifest), nameof(options));
    }

    private protected TOptions Options { get; }
    private protected OnnxTextModelManifest Manifest { get; }

    public abstract SchemaShape GetOutputSchema(SchemaShape inputSchema);

    public TTransformer Fit(IDataView input)
    {
        GetOutputSchema(SchemaShapes.FromSchema(input.Schema));
        return Create();
    }

    /// <summary>The transformer without data (nothing is learned).</summary>
    public abstract TTransformer Create();
}
