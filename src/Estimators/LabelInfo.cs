using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.Estimators;

/// <summary>How a label column becomes training targets: class index (key - 1), 0/1, or the value.</summary>
internal sealed class LabelInfo
{
    public required TaskKind Task { get; init; }
    public required int Outputs { get; init; }
    public required string[] Names { get; init; }

    public static LabelInfo From(TaskKind task, DataViewSchema.Column column, string name)
    {
        switch (task)
        {
            case TaskKind.Multiclass:
            {
                var key = (KeyDataViewType)column.Type;
                if (key.Count > int.MaxValue || key.Count < 1)
                    throw new ArgumentOutOfRangeException(nameof(column), $"Label column '{name}' has a key type with {key.Count} values: a classifier needs a known, finite number of classes.");
                int k = (int)key.Count;
                string[] names = Enumerable.Range(1, k).Select(i => i.ToString()).ToArray();
                if (column.Annotations.Schema.GetColumnOrNull(SchemaShapes.KeyValuesKind) is { } kv && kv.Type is VectorDataViewType { ItemType: TextDataViewType })
                {
                    VBuffer<ReadOnlyMemory<char>> values = default;
                    column.Annotations.GetValue(SchemaShapes.KeyValuesKind, ref values);
                    var dense = values.DenseValues().Select(v => v.ToString()).ToArray();
                    if (dense.Length == k) names = dense;
                }
                return new LabelInfo { Task = task, Outputs = k, Names = names };
            }
            case TaskKind.Binary:
                return new LabelInfo { Task = task, Outputs = 1, Names = ["False", "True"] };
            default:
                return new LabelInfo { Task = task, Outputs = 1, Names = [] };
        }
    }

    /// <summary>A getter returning the target, or NaN where the label is missing.</summary>
    public Func<float> Getter(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        switch (Task)
        {
            case TaskKind.Multiclass:
            {
                var g = cursor.GetGetter<uint>(column);
                uint v = 0;
                return () => { g(ref v); return v == 0 ? float.NaN : v - 1; };
            }
            case TaskKind.Binary:
            {
                var g = cursor.GetGetter<bool>(column);
                bool v = false;
                return () => { g(ref v); return v ? 1f : 0f; };
            }
            default:
            {
                var g = cursor.GetGetter<float>(column);
                float v = 0;
                return () => { g(ref v); return float.IsFinite(v) ? v : float.NaN; };
            }
        }
    }

    public void CheckTrainingLabels(IEnumerable<float> labels, string column)
    {
        if (Task == TaskKind.Regression) return;
        var distinct = labels.Distinct().ToList();
        if (distinct.Count < 2)
            throw new InvalidOperationException(
                $"Label column '{column}' has only one class ('{(Task == TaskKind.Multiclass ? Names[(int)distinct[0]] : distinct[0] == 1 ? "True" : "False")}') in the training data: a classifier needs at least two.");
    }
}
