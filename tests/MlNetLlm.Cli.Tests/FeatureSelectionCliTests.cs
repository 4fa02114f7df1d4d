using System.CommandLine;
using MlNetLlm.Cli.Commands;
using MlNetLlm.MlNet.Data;

namespace MlNetLlm.Cli.Tests;

/// <summary><c>mlnet-llm select-features</c> end to end on a regression and a multiclass table from samples/data.</summary>
public class FeatureSelectionCliTests
{
    private static int Run(params string[] args) => new RootCommand { new SelectFeaturesCommand().Build() }.Parse(args).Invoke();

    private static string Sample(string name)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "samples", "data", name))) return Path.Combine(d.FullName, "samples", "data", name);
        throw new FileNotFoundException($"samples/data/{name} not found above {AppContext.BaseDirectory}");
    }

    [Fact]
    public void RegressionTableInDataMode()
    {
        using var dir = new Fixtures.TempDir();
        string output = Path.Combine(dir.Path, "out");
        Assert.Equal(0, Run("select-features", "--dataset", Sample("sklearn_diabetes.csv"), "--label-col", "target", "--keep", "3", "--output", output));
        var csv = CsvTable.Load(Path.Combine(output, "selection.csv"));
        var kept = csv.Rows.Where(r => r[csv.ColumnIndex("kept")] == "yes").Select(r => r[csv.ColumnIndex("column")]).Order().ToArray();
        Assert.Equal(["bmi", "bp", "s5"], kept); // the Lasso path's first three on this table
        Assert.Contains("regression label 'target'", File.ReadAllText(Path.Combine(output, "selection.md")));
        Assert.True(new FileInfo(Path.Combine(output, "model.zip")).Length > 0);
    }

    [Fact]
    public void MulticlassTableWithTheLocalPrior()
    {
        using var dir = new Fixtures.TempDir();
        string output = Path.Combine(dir.Path, "out");
        Assert.Equal(0, Run("select-features", "--dataset", Sample("modeldata_penguins.csv"), "--label-col", "species", "--keep", "3",
            "--task", "Predict the species of a penguin from its body measurements and the island where it was observed.",
            "--llm", "local", "--folds", "3", "--output", output));
        string md = File.ReadAllText(Path.Combine(output, "selection.md"));
        Assert.Contains("multiclass label 'species', 3 classes", md);
        Assert.Contains("Cross-validated macro one-vs-rest AUROC by LLM weight", md);
        Assert.Contains("model `local:arctic-xs`", md);
        Assert.True(new FileInfo(Path.Combine(output, "model.zip")).Length > 0);
        var bad = Run("select-features", "--dataset", Sample("modeldata_penguins.csv"), "--label-col", "species", "--label-kind", "regression",
            "--output", Path.Combine(dir.Path, "bad"));
        Assert.Equal(1, bad); // "is set to regression but has the value 'Adelie'"
    }
}
