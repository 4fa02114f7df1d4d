using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.ML;
using MlNetLlm.MlNet.Data;

namespace MlNetLlm.Transforms.FeatureSelection;

/// <summary>File-level helpers behind <c>mlnet-llm select-features</c>: descriptions files, and a CSV-in, table-and-zip-out run.</summary>
public static class FeatureSelectionFiles
{
    /// <summary>
    /// Reads column descriptions: a JSON object {"column": "description", ...}, or a CSV with a header whose columns
    /// include <c>column</c> and <c>description</c> (or exactly two columns: name, description).
    /// </summary>
    public static Dictionary<string, string> LoadDescriptions(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Descriptions file '{path}' does not exist.", path);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Path.GetExtension(path).Equals(".json", StringComparison.OrdinalIgnoreCase))
        {
            JsonDocument doc;
            try { doc = JsonDocument.Parse(File.ReadAllBytes(path)); }
            catch (JsonException e) { throw new FormatException($"Descriptions file '{path}' is not valid JSON: {e.Message}"); }
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new FormatException($"Descriptions file '{path}' must hold a JSON object of column name → description.");
                foreach (var p in doc.RootElement.EnumerateObject())
                {
                    if (p.Value.ValueKind != JsonValueKind.String)
                        throw new FormatException($"Descriptions file '{path}': the description of '{p.Name}' is not a string.");
                    if (!result.TryAdd(p.Name, p.Value.GetString()!))
                        throw new FormatException($"Descriptions file '{path}' describes '{p.Name}' twice.");
                }
            }
            return result;
        }
        var table = CsvTable.Load(path);
        int nameCol = IndexOf(table, "column", "name", "feature");
        int descCol = IndexOf(table, "description", "desc");
        if (nameCol < 0 || descCol < 0)
        {
            if (table.Header.Count != 2)
                throw new FormatException($"Descriptions file '{path}' needs a header with 'column' and 'description' (or exactly two columns); it has: {string.Join(", ", table.Header)}.");
            (nameCol, descCol) = (0, 1);
        }
        for (int i = 0; i < table.Rows.Count; i++)
        {
            string name = table.Rows[i][nameCol].Trim();
            if (name.Length == 0) throw new FormatException($"Descriptions file '{path}', data row {i + 1}: the column name is empty.");
            if (!result.TryAdd(name, table.Rows[i][descCol].Trim()))
                throw new FormatException($"Descriptions file '{path}' describes '{name}' twice.");
        }
        return result;
    }

    private static int IndexOf(CsvTable t, params string[] names)
    {
        for (int i = 0; i < t.Header.Count; i++)
            if (names.Contains(t.Header[i].Trim().ToLowerInvariant())) return i;
        return -1;
    }

    /// <summary>What <see cref="Run"/> wrote.</summary>
    public sealed record RunResult(LlmFeatureSelectionTransformer Transformer, string CsvPath, string MarkdownPath, string ModelPath);

    /// <summary>
    /// Reads a CSV (numbers where a column is all numeric, text otherwise), fits the selection and writes
    /// <c>selection.csv</c>, <c>selection.md</c> and <c>model.zip</c> into <paramref name="outputDirectory"/>.
    /// </summary>
    public static RunResult Run(string datasetPath, string outputDirectory, LlmFeatureSelectionEstimator.Options options, IChatClient? chatClient, char? separator = null)
    {
        var table = CsvTable.Load(datasetPath, separator);
        table.ColumnIndex(options.LabelColumnName, "Options.LabelColumnName");
        foreach (var c in options.FeatureColumnNames) table.ColumnIndex(c, "Options.FeatureColumnNames");
        // Every column is read as text here when named a text column: a column of numbers would become "free text" and
        // lose its values, so it is refused rather than silently turned into words.
        foreach (var c in options.TextColumnNames)
            if (table.ColumnIndex(c, "Options.TextColumnNames") >= 0 && table.IsNumeric(c))
                throw new ArgumentException($"Options.TextColumnNames names '{c}', whose values in '{datasetPath}' are all numbers, not text: leave it out and it is used as a number.");
        var ml = new MLContext(options.Seed);
        // The label is read as text so 0/1, yes/no and pos/neg labels all work the same way.
        var data = table.ToDataView(ml, textColumns: options.TextColumnNames.Append(options.LabelColumnName));
        var transformer = new LlmFeatureSelectionEstimator(options, chatClient).Fit(data);
        Directory.CreateDirectory(outputDirectory);
        string csv = Path.Combine(outputDirectory, "selection.csv");
        string md = Path.Combine(outputDirectory, "selection.md");
        string zip = Path.Combine(outputDirectory, "model.zip");
        File.WriteAllText(csv, transformer.Report.ToCsv(), new UTF8Encoding(false));
        var sb = new StringBuilder();
        sb.Append("# Feature selection for '").Append(options.LabelColumnName).Append("' in ").Append(Path.GetFileName(datasetPath)).Append("\n\n");
        if (options.TaskDescription.Length > 0) sb.Append("Task: ").Append(options.TaskDescription).Append("\n\n");
        sb.Append(transformer.Report.ToMarkdown());
        File.WriteAllText(md, sb.ToString(), new UTF8Encoding(false));
        ml.Model.Save(transformer, data.Schema, zip);
        return new RunResult(transformer, csv, md, zip);
    }
}
