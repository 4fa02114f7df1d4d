using Microsoft.ML;
using MlNetLlm.MlNet;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.Estimators;

/// <summary>Catalog entry points, ML.NET style: <c>mlContext.MulticlassClassification.Trainers.TextClassifier(options)</c>.</summary>
public static class TextCatalog
{
    /// <summary>Multiclass text classifier; the label must be a key (MapValueToKey).</summary>
    public static TextTrainerEstimator TextClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, TextTrainerOptions options) =>
        new(ComponentLog.EnvironmentOf(catalog), TaskKind.Multiclass, options);

    /// <summary>Binary text classifier; the label must be Boolean.</summary>
    public static TextTrainerEstimator TextClassifier(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog, TextTrainerOptions options) =>
        new(ComponentLog.EnvironmentOf(catalog), TaskKind.Binary, options);

    /// <summary>Text regressor; the label must be Single.</summary>
    public static TextTrainerEstimator TextRegressor(this RegressionCatalog.RegressionTrainers catalog, TextTrainerOptions options) =>
        new(ComponentLog.EnvironmentOf(catalog), TaskKind.Regression, options);
}
