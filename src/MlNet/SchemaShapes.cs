using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetLlm.MlNet;

/// <summary>Builds estimator output shapes. SchemaShape.Column's constructor is internal in ML.NET 5, hence here, next to the other internals use.</summary>
public static class SchemaShapes
{
    public sealed record ColumnSpec(string Name, SchemaShape.Column.VectorKind Kind, DataViewType ItemType, bool IsKey, bool HasKeyValues = false, bool HasSlotNames = false);

    /// <summary>The input shape with <paramref name="added"/> appended (replacing same-named columns, as ML.NET's schemas hide them).</summary>
    public static SchemaShape Append(SchemaShape input, params ColumnSpec[] added)
    {
        var columns = input.ToDictionary(c => c.Name);
        foreach (var a in added)
        {
            var annotations = new List<SchemaShape.Column>();
            if (a.HasKeyValues)
                annotations.Add(new SchemaShape.Column(AnnotationUtils.Kinds.KeyValues, SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false));
            if (a.HasSlotNames)
                annotations.Add(new SchemaShape.Column(AnnotationUtils.Kinds.SlotNames, SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false));
            columns[a.Name] = new SchemaShape.Column(a.Name, a.Kind, a.ItemType, a.IsKey, new SchemaShape(annotations));
        }
        return new SchemaShape(columns.Values);
    }

    /// <summary>Checks a text column exists in an estimator's input shape and holds scalar text.</summary>
    public static void RequireText(SchemaShape input, string column, string role = "Text column")
    {
        if (!input.TryFind(column, out var c))
            throw new ArgumentOutOfRangeException(nameof(input), $"{role} '{column}' is not in the input.");
        if (c.Kind != SchemaShape.Column.VectorKind.Scalar || c.ItemType is not TextDataViewType)
            throw new ArgumentOutOfRangeException(nameof(input), $"{role} '{column}' must be a scalar String (text) column but is {c.ItemType}{(c.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}.");
    }

    /// <summary>Annotations holding class names as KeyValues (for PredictedLabel) or SlotNames (for Score).</summary>
    public static DataViewSchema.Annotations NamesAnnotation(string kind, IReadOnlyList<string> names)
    {
        var builder = new DataViewSchema.Annotations.Builder();
        var values = names.Select(n => n.AsMemory()).ToArray();
        ValueGetter<VBuffer<ReadOnlyMemory<char>>> getter = (ref VBuffer<ReadOnlyMemory<char>> dst) =>
            dst = new VBuffer<ReadOnlyMemory<char>>(values.Length, (ReadOnlyMemory<char>[])values.Clone());
        builder.Add(kind, new VectorDataViewType(TextDataViewType.Instance, names.Count), getter);
        return builder.ToAnnotations();
    }

    /// <summary>The shape of a data view's schema (SchemaShape.Create is internal).</summary>
    public static SchemaShape FromSchema(DataViewSchema schema) => SchemaShape.Create(schema);

    /// <summary>Finds a column of a shape by name (SchemaShape.TryFindColumn is internal).</summary>
    public static bool TryFind(this SchemaShape shape, string name, out SchemaShape.Column column) => shape.TryFindColumn(name, out column);

    public const string KeyValuesKind = "KeyValues";
    public const string SlotNamesKind = "SlotNames";
}
