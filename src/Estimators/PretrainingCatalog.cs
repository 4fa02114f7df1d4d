using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.Modeling.Pretraining;

namespace MlNetLlm.Estimators;

/// <summary>
/// Masked-language-model pretraining from an ML.NET data view: <c>mlContext.Transforms.Text.PretrainMaskedLanguageModel(data, options)</c>.
/// It writes a save_pretrained folder (<see cref="MaskedLmOptions.OutputFolder"/>) rather than returning a transformer:
/// the folder is the checkpoint a later <see cref="TextTrainerOptions.CheckpointPath"/> fine-tunes.
/// </summary>
public static class PretrainingCatalog
{
    /// <summary>The default text column, as ML.NET's featurizers name it.</summary>
    public const string DefaultTextColumnName = "Text";

    /// <summary>Continues <paramref name="checkpointPath"/> (a folder, or minilm / arctic-xs) on the texts of
    /// <paramref name="textColumnName"/> for one pass, with BERT's defaults, into <paramref name="outputFolder"/>.</summary>
    public static MaskedLmResult PretrainMaskedLanguageModel(this TransformsCatalog.TextTransforms catalog, IDataView data, string outputFolder,
        string checkpointPath = "minilm", string textColumnName = DefaultTextColumnName) =>
        catalog.PretrainMaskedLanguageModel(data, new MaskedLmOptions { CheckpointPath = checkpointPath, OutputFolder = outputFolder }, [textColumnName]);

    /// <summary>Pretrains as <paramref name="options"/> say on the texts of <paramref name="textColumnNames"/> (each
    /// non-empty value is one text); the columns are checked before anything is read or written.</summary>
    public static MaskedLmResult PretrainMaskedLanguageModel(this TransformsCatalog.TextTransforms catalog, IDataView data, MaskedLmOptions options,
        IReadOnlyList<string>? textColumnNames = null, IProgress<MaskedLmProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        var columns = textColumnNames is { Count: > 0 } given ? given : [DefaultTextColumnName];
        foreach (var name in columns)
        {
            var column = data.Schema.GetColumnOrNull(name)
                ?? throw new ArgumentOutOfRangeException(nameof(textColumnNames), $"Text column '{name}' is not in the data (columns: {string.Join(", ", data.Schema.Select(c => c.Name))}).");
            if (column.Type is not TextDataViewType)
                throw new ArgumentOutOfRangeException(nameof(textColumnNames), $"Text column '{name}' must be of type String (text) but is {column.Type}.");
        }
        options.Validate();
        var texts = new List<string>();
        using (var cursor = data.GetRowCursor(columns.Select(n => data.Schema[n])))
        {
            var getters = columns.Select(n => cursor.GetGetter<ReadOnlyMemory<char>>(data.Schema[n])).ToArray();
            ReadOnlyMemory<char> value = default;
            while (cursor.MoveNext())
                foreach (var get in getters)
                {
                    get(ref value);
                    if (!value.Span.IsWhiteSpace()) texts.Add(value.ToString());
                }
        }
        if (texts.Count == 0)
            throw new ArgumentException($"Text column{(columns.Count > 1 ? "s" : "")} {string.Join(", ", columns.Select(c => $"'{c}'"))} hold no text: nothing to pretrain on.", nameof(data));
        return MaskedLmTrainer.Train(options, texts, progress, cancellationToken);
    }
}
