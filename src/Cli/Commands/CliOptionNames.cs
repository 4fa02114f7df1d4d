namespace MlNetLlm.Cli.Commands;

/// <summary>
/// The libraries' errors name option properties (TextJobOptions.MaxClasses); the CLI says them with its flags
/// (--max-classes), so a CLI user reads the option they typed and a library user the property they set.
/// </summary>
public static class CliOptionNames
{
    private static readonly (string Property, string Flag)[] Names =
    [
        ("TextJobOptions.Encoder", "--encoder"), ("TextJobOptions.GlovePath", "--glove"), ("TextJobOptions.TextColumns", "--text-col"),
        ("TextJobOptions.TestDataset", "--test-dataset"), ("TextJobOptions.SplitColumn", "--split-col"), ("TextJobOptions.MaxClasses", "--max-classes"),
        ("TextJobOptions.TestFraction", "--test-fraction"), ("TextJobOptions.Task", "--task"), ("TextJobOptions.PositiveClass", "--positive-class"),
        ("TextJobOptions.LabelColumn", "--label-col"), ("TextJobOptions.Dataset", "--dataset"), ("TextJobOptions.Seed", "--seed"),
        ("TextJobOptions.Separator", "--separator"),
        // TextTrainerOptions (train's neural encoders: the job sets the columns, CheckpointPath and GlovePath from its own options).
        ("TextTrainerOptions.Epochs", "--epochs"), ("TextTrainerOptions.BatchSize", "--batch-size"), ("TextTrainerOptions.LearningRate", "--learning-rate"),
        ("TextTrainerOptions.MaxLength", "--max-length"), ("TextTrainerOptions.Device", "--device"), ("TextTrainerOptions.Seed", "--seed"), ("TextTrainerOptions.Encoder", "--encoder"),
        ("TextTrainerOptions.CheckpointPath", "--encoder checkpoint:DIR"), ("TextTrainerOptions.GlovePath", "--glove"),
        ("TextTrainerOptions.TextColumnName", "--text-col"), ("TextTrainerOptions.SecondTextColumnName", "--text-col"), ("TextTrainerOptions.LabelColumnName", "--label-col"),
        ("DeviceOptions.Device", "--device"), ("DeviceOptions.CudaDeviceId", "--device cuda:N"), ("DeviceOptions.Threads", "--threads"),
        ("TextTrainerOptions.Precision", "--precision"), ("TextEmbeddingOptions.Precision", "--precision"), ("ExperimentOptions.Precision", "--precision"),
        ("TextPredictionTransformer.UsePrecision", "--precision"), ("TextEmbeddingTransformer.UsePrecision", "--precision"), ("ExperimentOptions.Candidates", "--candidates"),
        ("ExperimentOptions.Tuner", "--tuner"), ("ExperimentOptions.ExperimentName", "--experiment"), ("ExperimentOptions.Resume", "--resume"),
        ("ExperimentOptions.Join", "--join"), ("ExperimentOptions.Store", "--store"), ("ExperimentOptions.TrainTime", "--train-time"),
        ("ExperimentOptions.MaxTrials", "--max-trials"), ("ExperimentOptions.CheckpointPath", "--checkpoint"), ("ExperimentOptions.Refit", "--refit"),
        ("ExperimentOptions.Device", "--device"),
        // TextEmbeddingOptions (embed).
        ("TextEmbeddingOptions.Pooling", "--pooling"), ("TextEmbeddingOptions.MaxLength", "--max-length"), ("TextEmbeddingOptions.BatchSize", "--batch-size"),
        ("TextEmbeddingOptions.Normalize", "--normalize"), ("TextEmbeddingOptions.InputColumnName", "--text-col"), ("TextEmbeddingOptions.CheckpointPath", "--model"),
        // MaskedLmOptions (pretrain).
        ("MaskedLmOptions.CheckpointPath", "--model"), ("MaskedLmOptions.OutputFolder", "--output"), ("MaskedLmOptions.Resume", "--resume"),
        ("MaskedLmOptions.Steps", "--steps"), ("MaskedLmOptions.Epochs", "--epochs"), ("MaskedLmOptions.BatchSize", "--batch-size"),
        ("MaskedLmOptions.LearningRate", "--learning-rate"), ("MaskedLmOptions.MaxLength", "--max-length"), ("MaskedLmOptions.MaskProbability", "--mask-probability"),
        ("MaskedLmOptions.WholeWordMasking", "--whole-word-masking"), ("MaskedLmOptions.ValidationFraction", "--validation-fraction"),
        ("MaskedLmOptions.SaveEverySteps", "--save-every"), ("MaskedLmOptions.Layers", "--layers"), ("MaskedLmOptions.HiddenSize", "--hidden-size"),
        ("MaskedLmOptions.Heads", "--heads"), ("MaskedLmOptions.TokenizerPath", "--tokenizer"), ("MaskedLmOptions.Seed", "--seed"),
        ("MaskedLmOptions.Precision", "--precision"), ("MaskedLmOptions.Device", "--device"),
        // The ONNX scorers (predict and embed on an exported folder).
        ("OnnxTextPredictionOptions.ModelFolder", "--model"), ("OnnxTextEmbeddingOptions.ModelFolder", "--model"), ("OnnxTextEmbeddingOptions.BatchSize", "--batch-size"),
        // LlmFeatureSelectionEstimator.Options (select-features).
        ("Options.LabelColumnName", "--label-col"), ("Options.LabelKind", "--label-kind"), ("Options.TaskDescription", "--task"),
        ("Options.KeepCount", "--keep"), ("Options.KeepFraction", "--keep-fraction"), ("Options.ScoreThreshold", "--threshold"),
        ("Options.FeatureColumnNames", "--feature-cols"), ("Options.TextColumnNames", "--text-cols"), ("Options.PositiveLabel", "--positive-class"),
        ("Options.BatchSize", "--batch-size"), ("Options.MaxRetries", "--retries"), ("Options.RequestTimeout", "--timeout"),
        ("Options.LlmTimeBudget", "--llm-budget"), ("Options.CrossValidationFolds", "--folds"), ("Options.LocalPrior", "--llm local:MODEL"),
        ("Options.Mode", "--mode"), ("Options.DataEvidence", "--evidence"), ("Options.ColumnDescriptions", "--descriptions"),
        ("Options.CacheDirectory", "--cache-dir"), ("Options.Seed", "--seed"),
    ];

    public static string ToFlags(string message)
    {
        // Whole names only: Options.LocalPrior is not the start of Options.LocalPriorQueryPrefix, nor Options.BatchSize
        // the end of TextTrainerOptions.BatchSize.
        foreach (var (property, flag) in Names.OrderByDescending(n => n.Property.Length))
            message = System.Text.RegularExpressions.Regex.Replace(message, $@"(?<![\w.]){System.Text.RegularExpressions.Regex.Escape(property)}(?!\w)", flag);
        return message;
    }
}
