using Microsoft.ML;
using MlNetLlm.Estimators;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>FeaturizeText + an ML.NET trainer (SDCA maximum entropy, L-BFGS maximum entropy, LightGbm).</summary>
public sealed class ClassicalCandidate : Candidate
{
    private readonly string _trainer;

    private ClassicalCandidate(string name, SearchSpace space, string trainer) : base(name, space, classical: true) => _trainer = trainer;

    public static ClassicalCandidate Sdca() => new("tfidf+sdca", SearchSpaces.SdcaMaximumEntropy(), "sdca");
    public static ClassicalCandidate Lbfgs() => new("tfidf+lbfgs", SearchSpaces.LbfgsMaximumEntropy(), "lbfgs");
    public static ClassicalCandidate LightGbm() => new("tfidf+lightgbm", SearchSpaces.LightGbm(), "lightgbm");

    protected override FittedPipeline Fit(MLContext ml, TextJobData data, IDataView? validation, ParameterSet p, DeviceOptions device, TrialControl control)
    {
        control.Cancellation.ThrowIfCancellationRequested();
        var pipeline = TextTrainingJob.TfIdfFeatures(ml, data.TextColumns).Append(Trainer(ml, data.Task, p));
        var train = data.TrainView(ml);
        return new FittedPipeline(TextTrainingJob.WithLabelNames(ml, data, pipeline.Fit(train), train));
    }

    private IEstimator<ITransformer> Trainer(MLContext ml, TaskKind task, ParameterSet p)
    {
        switch (_trainer)
        {
            case "sdca":
                return SdcaTrainer(ml, task, p);
            case "lbfgs":
                float w1 = (float)p.GetDouble(ParameterNames.L1Regularization), w2 = (float)p.GetDouble(ParameterNames.L2Regularization);
                return task switch
                {
                    TaskKind.Multiclass => ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(l1Regularization: w1, l2Regularization: w2),
                    TaskKind.Binary => ml.BinaryClassification.Trainers.LbfgsLogisticRegression(l1Regularization: w1, l2Regularization: w2),
                    _ => ml.Regression.Trainers.LbfgsPoissonRegression(l1Regularization: w1, l2Regularization: w2),
                };
            default:
                return LightGbmTrainer(ml, task, p);
        }
    }

    /// <summary>SDCA for the task with the SDCA search space's parameters (shared with embeddings+sdca).</summary>
    internal static IEstimator<ITransformer> SdcaTrainer(MLContext ml, TaskKind task, ParameterSet p)
    {
        float l2 = (float)p.GetDouble(ParameterNames.L2Regularization), l1 = (float)p.GetDouble(ParameterNames.L1Regularization);
        return TaskTrainers.Sdca(ml, task, l2, l1);
    }

    /// <summary>LightGbm for the task with the LightGbm search space's parameters (shared with embeddings+lightgbm).</summary>
    internal static IEstimator<ITransformer> LightGbmTrainer(MLContext ml, TaskKind task, ParameterSet p)
    {
        int leaves = p.GetInt(ParameterNames.NumberOfLeaves), iterations = p.GetInt(ParameterNames.NumberOfIterations), minLeaf = p.GetInt(ParameterNames.MinimumExampleCountPerLeaf);
        double lr = p.GetDouble(ParameterNames.LearningRate);
        return task switch
        {
            TaskKind.Multiclass => ml.MulticlassClassification.Trainers.LightGbm(numberOfLeaves: leaves, minimumExampleCountPerLeaf: minLeaf, learningRate: lr, numberOfIterations: iterations),
            TaskKind.Binary => ml.BinaryClassification.Trainers.LightGbm(numberOfLeaves: leaves, minimumExampleCountPerLeaf: minLeaf, learningRate: lr, numberOfIterations: iterations),
            _ => ml.Regression.Trainers.LightGbm(numberOfLeaves: leaves, minimumExampleCountPerLeaf: minLeaf, learningRate: lr, numberOfIterations: iterations),
        };
    }
}
