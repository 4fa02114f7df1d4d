using Microsoft.Extensions.AI;
using Microsoft.ML;

namespace MlNetLlm.Transforms.FeatureSelection;

/// <summary>ML.NET catalog entry points of the LLM feature selection.</summary>
public static class FeatureSelectionCatalog
{
    /// <summary>
    /// Keeps the feature columns that a language model and/or the data judge most useful for a binary, multiclass or regression label and
    /// outputs them as one Features vector. See <see cref="LlmFeatureSelectionEstimator"/>.
    /// </summary>
    /// <param name="catalog">mlContext.Transforms.FeatureSelection.</param>
    /// <param name="options">Label, candidate columns, task description, mode and how many to keep.</param>
    /// <param name="chatClient">Any Microsoft.Extensions.AI chat client; null runs data mode and says so in the report.</param>
    public static LlmFeatureSelectionEstimator SelectFeaturesWithLlm(this TransformsCatalog.FeatureSelectionTransforms catalog,
        LlmFeatureSelectionEstimator.Options options, IChatClient? chatClient = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new LlmFeatureSelectionEstimator(options, chatClient);
    }

    /// <summary>
    /// The same selection with the local language prior: a sentence encoder's similarity of each column's name and
    /// description to the task stands in for the LLM (no endpoint). See <see cref="LlmFeatureSelectionEstimator"/>.
    /// </summary>
    public static LlmFeatureSelectionEstimator SelectFeaturesWithLlm(this TransformsCatalog.FeatureSelectionTransforms catalog,
        LlmFeatureSelectionEstimator.Options options, IEmbeddingGenerator<string, Embedding<float>> embeddingGenerator)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new LlmFeatureSelectionEstimator(options, embeddingGenerator);
    }

    /// <summary>Short form: label, task, client and how many columns to keep; every other option at its default.</summary>
    public static LlmFeatureSelectionEstimator SelectFeaturesWithLlm(this TransformsCatalog.FeatureSelectionTransforms catalog,
        string labelColumnName, string taskDescription, IChatClient? chatClient, int keepCount,
        FeatureSelectionMode mode = FeatureSelectionMode.Blend, string outputColumnName = "Features") =>
        catalog.SelectFeaturesWithLlm(new LlmFeatureSelectionEstimator.Options
        {
            LabelColumnName = labelColumnName,
            TaskDescription = taskDescription,
            KeepCount = keepCount,
            Mode = mode,
            OutputColumnName = outputColumnName,
        }, chatClient);
}
