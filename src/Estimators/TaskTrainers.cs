using Microsoft.ML;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.Estimators;

/// <summary>The one place a task picks its trainer: ML.NET's SDCA of the task, or this project's text trainer.</summary>
internal static class TaskTrainers
{
    /// <summary>SDCA for the task (maximum entropy, logistic regression, or regression); null regularization: ML.NET's own choice.</summary>
    public static IEstimator<ITransformer> Sdca(MLContext ml, TaskKind task, float? l2 = null, float? l1 = null) => task switch
    {
        TaskKind.Multiclass => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(l2Regularization: l2, l1Regularization: l1),
        TaskKind.Binary => ml.BinaryClassification.Trainers.SdcaLogisticRegression(l2Regularization: l2, l1Regularization: l1),
        _ => ml.Regression.Trainers.Sdca(l2Regularization: l2, l1Regularization: l1),
    };

    /// <summary>The text classifier or regressor for the task.</summary>
    public static TextTrainerEstimator Text(MLContext ml, TaskKind task, TextTrainerOptions options) => task switch
    {
        TaskKind.Multiclass => ml.MulticlassClassification.Trainers.TextClassifier(options),
        TaskKind.Binary => ml.BinaryClassification.Trainers.TextClassifier(options),
        _ => ml.Regression.Trainers.TextRegressor(options),
    };
}
