using Microsoft.ML;
using MlNetLlm.MlNet;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.Estimators;

/// <summary>
/// Catalog entry points, ML.NET style: a simple overload with column names (defaults "Label", "Text", "Score" and
/// "PredictedLabel", as ML.NET's default column names) and the few settings most runs change, beside an overload taking
/// every option. The estimator adds the score column (and the predicted label for classifiers; binary also adds
/// "Probability"), as ML.NET's trainers do.
/// </summary>
public static class TextCatalog
{
    /// <summary>Fine-tunes <paramref name="checkpoint"/> (a bundled name such as "minilm", or a Hugging Face folder) as a
    /// multiclass text classifier; the label must be a key (MapValueToKey).</summary>
    public static TextTrainerEstimator TextClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label", string textColumnName = "Text", string? secondTextColumnName = null,
        string scoreColumnName = PredictionColumns.Score, string predictedLabelColumnName = PredictionColumns.PredictedLabel,
        string checkpoint = "minilm", int epochs = 3, int batchSize = 16) =>
        catalog.TextClassifier(Simple(labelColumnName, textColumnName, secondTextColumnName, scoreColumnName, predictedLabelColumnName, checkpoint, epochs, batchSize));

    /// <summary>Multiclass text classifier with every option; the label must be a key (MapValueToKey).</summary>
    public static TextTrainerEstimator TextClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, TextTrainerOptions options) =>
        new(ComponentLog.EnvironmentOf(catalog), TaskKind.Multiclass, options);

    /// <summary>Fine-tunes <paramref name="checkpoint"/> as a binary text classifier; the label must be Boolean.</summary>
    public static TextTrainerEstimator TextClassifier(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        string labelColumnName = "Label", string textColumnName = "Text", string? secondTextColumnName = null,
        string scoreColumnName = PredictionColumns.Score, string predictedLabelColumnName = PredictionColumns.PredictedLabel,
        string checkpoint = "minilm", int epochs = 3, int batchSize = 16) =>
        catalog.TextClassifier(Simple(labelColumnName, textColumnName, secondTextColumnName, scoreColumnName, predictedLabelColumnName, checkpoint, epochs, batchSize));

    /// <summary>Binary text classifier with every option; the label must be Boolean.</summary>
    public static TextTrainerEstimator TextClassifier(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog, TextTrainerOptions options) =>
        new(ComponentLog.EnvironmentOf(catalog), TaskKind.Binary, options);

    /// <summary>Fine-tunes <paramref name="checkpoint"/> as a text regressor; the label must be Single.</summary>
    public static TextTrainerEstimator TextRegressor(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName = "Label", string textColumnName = "Text", string? secondTextColumnName = null,
        string scoreColumnName = PredictionColumns.Score,
        string checkpoint = "minilm", int epochs = 3, int batchSize = 16) =>
        catalog.TextRegressor(Simple(labelColumnName, textColumnName, secondTextColumnName, scoreColumnName, PredictionColumns.PredictedLabel, checkpoint, epochs, batchSize));

    /// <summary>Text regressor with every option; the label must be Single.</summary>
    public static TextTrainerEstimator TextRegressor(this RegressionCatalog.RegressionTrainers catalog, TextTrainerOptions options) =>
        new(ComponentLog.EnvironmentOf(catalog), TaskKind.Regression, options);

    private static TextTrainerOptions Simple(string label, string text, string? secondText, string score, string predictedLabel, string checkpoint, int epochs, int batchSize) => new()
    {
        LabelColumnName = label, TextColumnName = text, SecondTextColumnName = secondText, ScoreColumnName = score, PredictedLabelColumnName = predictedLabel,
        Encoder = TextEncoderKind.Checkpoint, CheckpointPath = checkpoint, Epochs = epochs, BatchSize = batchSize,
    };
}
