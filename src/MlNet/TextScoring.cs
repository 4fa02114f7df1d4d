using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet.Persistence;

namespace MlNetLlm.MlNet;

/// <summary>An output column a text scorer adds.</summary>
public sealed record OutputColumn(string Name, DataViewType Type, DataViewSchema.Annotations? Annotations = null);

/// <summary>
/// Base of transformers that read one or two text columns and add scored columns (predictions, embeddings).
/// <see cref="Transform"/> scores rows in batches (a look-ahead cursor reads the texts of the next batch while the
/// main cursor serves the current rows in their original order); the row-to-row mapper behind
/// <c>PredictionEngine</c> scores one row at a time. Both go through <see cref="ScoreBatch"/>, which must be thread-safe:
/// one model may serve several prediction engines on several threads.
/// </summary>
public abstract class TextScoringTransformer : PersistableTransformer
{
    protected TextScoringTransformer(IReadOnlyList<string> textColumns, int batchSize)
    {
        if (textColumns.Count is < 1 or > 2)
            throw new ArgumentException("One or two text columns are supported.", nameof(textColumns));
        if (batchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Batch size must be at least 1.");
        TextColumns = textColumns;
        BatchSize = batchSize;
    }

    public IReadOnlyList<string> TextColumns { get; }
    public int BatchSize { get; }

    /// <summary>Columns this transformer appends, in order.</summary>
    public abstract IReadOnlyList<OutputColumn> OutputColumns { get; }

    /// <summary>
    /// Scores rows of texts (one entry per text column; empty string for empty/missing text). Returns one array per
    /// output column, each with one element per row: float[], bool[], uint[] or VBuffer&lt;float&gt;[].
    /// </summary>
    public abstract Array[] ScoreBatch(IReadOnlyList<string[]> rows);

    public override bool IsRowToRowMapper => true;

    public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        CheckInput(inputSchema);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        foreach (var c in OutputColumns)
            builder.AddColumn(c.Name, c.Type, c.Annotations);
        return builder.ToSchema();
    }

    public override IDataView Transform(IDataView input) => new ScoredDataView(this, input, GetOutputSchema(input.Schema));

    public override IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        new ScoringRowMapper(this, inputSchema, GetOutputSchema(inputSchema));

    /// <summary>Each text column must exist and hold text; the message names the column and what it holds.</summary>
    public void CheckInput(DataViewSchema schema)
    {
        foreach (var name in TextColumns)
        {
            var col = schema.GetColumnOrNull(name)
                      ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Text column '{name}' is not in the input (columns: {string.Join(", ", schema.Select(c => c.Name))}).");
            if (col.Type is not TextDataViewType)
                throw new ArgumentOutOfRangeException(nameof(schema), $"Text column '{name}' must be of type String (text) but is {col.Type}.");
        }
    }

    internal ValueGetter<ReadOnlyMemory<char>>[] TextGetters(DataViewRow row) =>
        TextColumns.Select(n => row.GetGetter<ReadOnlyMemory<char>>(row.Schema[n])).ToArray();

    internal static string[] ReadTexts(ValueGetter<ReadOnlyMemory<char>>[] getters)
    {
        var texts = new string[getters.Length];
        ReadOnlyMemory<char> value = default;
        for (int i = 0; i < getters.Length; i++)
        {
            getters[i](ref value);
            texts[i] = value.ToString();
        }
        return texts;
    }

    internal static Delegate OutputGetter<T>(Func<Array?> values, Func<int> index) =>
        (ValueGetter<T>)((ref T dst) =>
        {
            var arr = (T[])(values() ?? throw new InvalidOperationException("No scored row is current: call MoveNext first."));
            dst = arr[index()];
        });

    internal static Delegate MakeOutputGetter(DataViewType type, Func<Array?> values, Func<int> index) => type.RawType switch
    {
        var t when t == typeof(float) => OutputGetter<float>(values, index),
        var t when t == typeof(bool) => OutputGetter<bool>(values, index),
        var t when t == typeof(uint) => OutputGetter<uint>(values, index),
        var t when t == typeof(VBuffer<float>) => OutputGetter<VBuffer<float>>(values, index),
        var t => throw new NotSupportedException($"Output type {t} is not supported."),
    };
}

/// <summary>The data view <see cref="TextScoringTransformer.Transform"/> returns: input columns plus scored columns.</summary>
internal sealed class ScoredDataView(TextScoringTransformer scorer, IDataView source, DataViewSchema schema) : IDataView
{
    public DataViewSchema Schema { get; } = schema;
    public bool CanShuffle => false;
    public long? GetRowCount() => source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new ScoredCursor(scorer, source, Schema, columnsNeeded.Select(c => c.Index).ToHashSet());

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];
}

internal sealed class ScoredCursor : DataViewRowCursor
{
    private readonly TextScoringTransformer _scorer;
    private readonly DataViewRowCursor _main;
    private readonly DataViewRowCursor? _lookAhead;
    private readonly ValueGetter<ReadOnlyMemory<char>>[]? _lookTexts;
    private readonly HashSet<int> _active;
    private readonly int _inputCount;
    private Array[]? _batch;
    private int _batchCount;
    private int _indexInBatch = -1;

    public ScoredCursor(TextScoringTransformer scorer, IDataView source, DataViewSchema schema, HashSet<int> active)
    {
        _scorer = scorer;
        Schema = schema;
        _active = active;
        _inputCount = source.Schema.Count;
        var inputNeeded = source.Schema.Where(c => active.Contains(c.Index));
        _main = source.GetRowCursor(inputNeeded);
        if (active.Any(i => i >= _inputCount))
        {
            _lookAhead = source.GetRowCursor(scorer.TextColumns.Select(n => source.Schema[n]));
            _lookTexts = scorer.TextGetters(_lookAhead);
        }
    }

    public override DataViewSchema Schema { get; }
    public override long Position => _main.Position;
    public override long Batch => _main.Batch;
    public override ValueGetter<DataViewRowId> GetIdGetter() => _main.GetIdGetter();
    public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Index);

    public override bool MoveNext()
    {
        if (!_main.MoveNext()) return false;
        if (_lookAhead is not null)
        {
            _indexInBatch++;
            if (_batch is null || _indexInBatch >= _batchCount)
                FillBatch();
        }
        return true;
    }

    private void FillBatch()
    {
        var rows = new List<string[]>(_scorer.BatchSize);
        while (rows.Count < _scorer.BatchSize && _lookAhead!.MoveNext())
            rows.Add(TextScoringTransformer.ReadTexts(_lookTexts!));
        if (rows.Count == 0)
            throw new InvalidOperationException("The input data view returned fewer rows on a second cursor than on the first: it must be re-iterable.");
        _batch = _scorer.ScoreBatch(rows);
        _batchCount = rows.Count;
        _indexInBatch = 0;
    }

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        if (column.Index < _inputCount)
            return _main.GetGetter<TValue>(_main.Schema[column.Index]);
        int j = column.Index - _inputCount;
        if (!_active.Contains(column.Index))
            throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was made.");
        return (ValueGetter<TValue>)TextScoringTransformer.MakeOutputGetter(column.Type, () => _batch?[j], () => _indexInBatch);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _main.Dispose();
            _lookAhead?.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>Row-at-a-time mapping for PredictionEngine.</summary>
internal sealed class ScoringRowMapper(TextScoringTransformer scorer, DataViewSchema inputSchema, DataViewSchema outputSchema) : IRowToRowMapper
{
    public DataViewSchema InputSchema { get; } = inputSchema;
    public DataViewSchema OutputSchema { get; } = outputSchema;

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        var cols = dependingColumns.ToList();
        var needed = cols.Where(c => c.Index < InputSchema.Count).Select(c => InputSchema[c.Index]).ToList();
        if (cols.Any(c => c.Index >= InputSchema.Count))
            needed.AddRange(scorer.TextColumns.Select(n => InputSchema[n]));
        return needed.DistinctBy(c => c.Index).ToList();
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns) =>
        new ScoredRow(scorer, input, OutputSchema, activeColumns.Select(c => c.Index).ToHashSet());
}

internal sealed class ScoredRow : DataViewRow
{
    private readonly TextScoringTransformer _scorer;
    private readonly DataViewRow _input;
    private readonly HashSet<int> _active;
    private readonly ValueGetter<ReadOnlyMemory<char>>[]? _texts;
    private long _scoredPosition = -1;
    private Array[]? _values;

    public ScoredRow(TextScoringTransformer scorer, DataViewRow input, DataViewSchema schema, HashSet<int> active)
    {
        _scorer = scorer;
        _input = input;
        Schema = schema;
        _active = active;
        if (active.Any(i => i >= input.Schema.Count))
            _texts = scorer.TextGetters(input);
    }

    public override DataViewSchema Schema { get; }
    public override long Position => _input.Position;
    public override long Batch => _input.Batch;
    public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();
    public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Index);

    private Array[] Current()
    {
        if (_values is null || _scoredPosition != _input.Position)
        {
            _values = _scorer.ScoreBatch([TextScoringTransformer.ReadTexts(_texts!)]);
            _scoredPosition = _input.Position;
        }
        return _values;
    }

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        if (column.Index < _input.Schema.Count)
            return _input.GetGetter<TValue>(_input.Schema[column.Index]);
        int j = column.Index - _input.Schema.Count;
        return (ValueGetter<TValue>)TextScoringTransformer.MakeOutputGetter(column.Type, () => Current()[j], () => 0);
    }
}
