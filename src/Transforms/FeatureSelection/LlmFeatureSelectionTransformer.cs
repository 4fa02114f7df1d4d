using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MlNetLlm.MlNet.Persistence;

namespace MlNetLlm.Transforms.FeatureSelection;

/// <summary>
/// The fitted feature selection: adds the Features vector of the kept columns (numbers mean-imputed, text levels
/// one-hot, free text featurized, in input column order) and carries the <see cref="Report"/> (scores, reasons,
/// mode, LLM weight). Saved and loaded with plain <c>mlContext.Model.Save/Load</c>; the encoding is an ML.NET
/// transformer chain stored inside this transformer's entry of the zip.
/// </summary>
public sealed class LlmFeatureSelectionTransformer : PersistableTransformer
{
    private const string ReportEntry = "llm-feature-selection/report.json";
    private const string StateEntry = "llm-feature-selection/state.json";
    private const string InnerEntry = "llm-feature-selection/featurizer.zip";

    private readonly MLContext _ml;
    private readonly ITransformer _inner;
    private readonly DataViewSchema _trainingSchema;

    /// <summary>Scores, reasons, the mode that ran and the LLM weight.</summary>
    public FeatureSelectionReport Report { get; }
    /// <summary>The kept input columns, in the order their slots appear in the output vector.</summary>
    public IReadOnlyList<string> SelectedColumns { get; }
    public string OutputColumnName { get; }

    internal LlmFeatureSelectionTransformer(MLContext ml, ITransformer inner, DataViewSchema trainingSchema, FeatureSelectionReport report,
        string[] selectedColumns, string outputColumnName) =>
        (_ml, _inner, _trainingSchema, Report, SelectedColumns, OutputColumnName) = (ml, inner, trainingSchema, report, selectedColumns, outputColumnName);

    public override bool IsRowToRowMapper => _inner.IsRowToRowMapper;

    public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        Check(inputSchema);
        return _inner.GetOutputSchema(inputSchema);
    }

    public override IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        Check(inputSchema);
        return _inner.GetRowToRowMapper(inputSchema);
    }

    public override IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Check(input.Schema);
        return _inner.Transform(input);
    }

    /// <summary>Each kept column must be there with the kind of type it had at fit time, or the error names it.</summary>
    private void Check(DataViewSchema inputSchema)
    {
        foreach (var name in SelectedColumns)
        {
            var col = inputSchema.GetColumnOrNull(name)
                      ?? throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Column '{name}', kept by the LLM feature selection, is not in the input schema.");
            var trained = _trainingSchema.GetColumnOrNull(name);
            if (trained is { } t && !t.Type.Equals(col.Type))
                throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Column '{name}' has type {col.Type}, but the feature selection was fitted on type {t.Type}.");
        }
    }

    private sealed class State
    {
        public string[] SelectedColumns { get; set; } = [];
        public string OutputColumnName { get; set; } = "";
        public string[] ColumnNames { get; set; } = [];
        public string[] ColumnTypes { get; set; } = [];
    }

    protected override void SaveState(ModelWriter writer)
    {
        var typed = SelectedColumns.Select(n => _trainingSchema[n]).ToList();
        writer.WriteJson(StateEntry, new State
        {
            SelectedColumns = SelectedColumns.ToArray(),
            OutputColumnName = OutputColumnName,
            ColumnNames = typed.Select(c => c.Name).ToArray(),
            ColumnTypes = typed.Select(c => c.Type.ToString() ?? "").ToArray(),
        });
        writer.WriteJson(ReportEntry, Report);
        using var ms = new MemoryStream();
        _ml.Model.Save(_inner, _trainingSchema, ms);
        writer.WriteBytes(InnerEntry, ms.ToArray());
    }

    // Found by PersistableTransformer's loader through reflection.
    private static LlmFeatureSelectionTransformer LoadState(IHostEnvironment env, ModelReader reader)
    {
        var state = reader.ReadJson<State>(StateEntry);
        var report = reader.ReadJson<FeatureSelectionReport>(ReportEntry);
        var ml = new MLContext();
        using var ms = new MemoryStream(reader.ReadBytes(InnerEntry));
        var inner = ml.Model.Load(ms, out var trainingSchema);
        return new LlmFeatureSelectionTransformer(ml, inner, trainingSchema, report, state.SelectedColumns, state.OutputColumnName);
    }
}
