using MlNetLlm.Estimators.Jobs;

/// <summary>
/// The real text sets the AutoML measurements use, split the same way everywhere: Amazon Fine Foods with its given
/// split; Debian fortunes restricted to its 10 largest categories, stratified 80/20 (seed 1); SpamAssassin, stratified
/// 80/20 (seed 1). samples/data/README.md says where each came from.
/// </summary>
static class BenchDatasets
{
    public static readonly string[] Names = ["amazon", "fortunes", "spam"];

    public static TextJobOptions Options(string name, string repoRoot)
    {
        string data = Path.Combine(repoRoot, "samples", "data");
        return name switch
        {
            "amazon" => new TextJobOptions { Dataset = Path.Combine(data, "amazon_fine_foods.csv"), LabelColumn = "score", TextColumns = ["review"], SplitColumn = "split", Seed = 1 },
            "fortunes" => new TextJobOptions { Dataset = Path.Combine(data, "debian_fortunes.csv"), LabelColumn = "category", TextColumns = ["text"], MaxClasses = 10, TestFraction = 0.2, Seed = 1 },
            "spam" => new TextJobOptions { Dataset = Path.Combine(data, "spam_assassin.csv"), LabelColumn = "label", TextColumns = ["text"], TestFraction = 0.2, Seed = 1 },
            _ => throw new ArgumentException($"Unknown data set '{name}' (known: {string.Join(", ", Names)})."),
        };
    }
}
