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
        ("TextJobOptions.LabelColumn", "--label-col"),
        ("ExperimentOptions.Tuner", "--tuner"), ("ExperimentOptions.ExperimentName", "--experiment"), ("ExperimentOptions.Resume", "--resume"),
        ("ExperimentOptions.Join", "--join"), ("ExperimentOptions.Store", "--store"), ("ExperimentOptions.TrainTime", "--train-time"),
    ];

    public static string ToFlags(string message)
    {
        foreach (var (property, flag) in Names.OrderByDescending(n => n.Property.Length))
            message = message.Replace(property, flag, StringComparison.Ordinal);
        return message;
    }
}
