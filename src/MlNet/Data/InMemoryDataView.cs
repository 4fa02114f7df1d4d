using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetLlm.MlNet.Data;

/// <summary>Builds an IDataView from columns held in arrays (text, Single, Boolean, key, float vectors).</summary>
public sealed class InMemoryDataViewBuilder(int rowCount)
{
    private readonly List<(string Name, DataViewType Type, Array Values, DataViewSchema.Annotations? Annotations)> _columns = [];

    private InMemoryDataViewBuilder Add(string name, DataViewType type, Array values, DataViewSchema.Annotations? annotations = null)
    {
        if (values.Length != rowCount)
            throw new ArgumentException($"Column '{name}' has {values.Length} values, expected {rowCount}.", nameof(values));
        _columns.Add((name, type, values, annotations));
        return this;
    }

    public InMemoryDataViewBuilder AddText(string name, string[] values) =>
        Add(name, TextDataViewType.Instance, values.Select(v => (v ?? "").AsMemory()).ToArray());

    public InMemoryDataViewBuilder AddFloat(string name, float[] values) => Add(name, NumberDataViewType.Single, values);

    public InMemoryDataViewBuilder AddBool(string name, bool[] values) => Add(name, BooleanDataViewType.Instance, values);

    public InMemoryDataViewBuilder AddVector(string name, float[][] values, int size) =>
        Add(name, new VectorDataViewType(NumberDataViewType.Single, size), values.Select(v => new VBuffer<float>(v.Length, v)).ToArray());

    public IDataView Build()
    {
        var sb = new DataViewSchema.Builder();
        foreach (var c in _columns) sb.AddColumn(c.Name, c.Type, c.Annotations);
        return new InMemoryDataView(sb.ToSchema(), _columns.Select(c => c.Values).ToArray(), rowCount);
    }
}

internal sealed class InMemoryDataView(DataViewSchema schema, Array[] columns, int rowCount) : IDataView
{
    public DataViewSchema Schema { get; } = schema;
    public bool CanShuffle => false;
    public long? GetRowCount() => rowCount;
    internal Array[] Columns { get; } = columns;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded.Select(c => c.Index).ToHashSet());

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(InMemoryDataView view, HashSet<int> active) : DataViewRowCursor
    {
        private long _position = -1;
        public override DataViewSchema Schema => view.Schema;
        public override long Position => _position;
        public override long Batch => 0;
        public override bool IsColumnActive(DataViewSchema.Column column) => active.Contains(column.Index);
        public override bool MoveNext() => ++_position < view.GetRowCount();
        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var values = (TValue[])view.Columns[column.Index];
            return (ref TValue v) => v = values[_position];
        }
    }
}
