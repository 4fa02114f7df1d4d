using Microsoft.ML;

namespace MlNetLlm.MlNet.Persistence;

/// <summary>Loads a model zip with plain <c>mlContext.Model.Load</c>; a failure names the file and its real cause.</summary>
public static class ModelFile
{
    /// <summary>Every transformer of a model, chains (TransformerChain) opened up, in order.</summary>
    public static IEnumerable<ITransformer> Transformers(ITransformer model) =>
        model is IEnumerable<ITransformer> chain ? chain.SelectMany(Transformers) : [model];

    public static ITransformer Load(MLContext ml, string path, out DataViewSchema inputSchema)
    {
        if (Directory.Exists(path))
            throw new FileNotFoundException($"Model '{path}' is a directory, not a model zip.", path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Model zip '{path}' does not exist.", path);
        try
        {
            return ml.Model.Load(path, out inputSchema);
        }
        catch (Exception e)
        {
            // ML.NET wraps loader errors in reflection exceptions: report the innermost one.
            var cause = e;
            while (cause.InnerException is not null && cause is System.Reflection.TargetInvocationException or InvalidOperationException or FormatException) cause = cause.InnerException;
            throw new InvalidDataException($"'{path}' could not be loaded as an ML.NET model zip: {cause.Message}", e);
        }
    }
}
