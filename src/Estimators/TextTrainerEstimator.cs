using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.Estimators;

/// <summary>
/// Trains a text classifier (multiclass: key label; binary: Boolean label) or regressor (Single label) on one or two
/// text columns with the encoder the options choose. Schema problems are reported at Fit, naming the column.
/// </summary>
public sealed class TextTrainerEstimator : IEstimator<TextPredictionTransformer>
{
    private readonly TaskKind _task;
    private readonly TextTrainerOptions _options;
    private readonly Microsoft.ML.Runtime.IHostEnvironment? _environment;

    internal TextTrainerEstimator(TaskKind task, TextTrainerOptions options) : this(null, task, options) { }

    internal TextTrainerEstimator(Microsoft.ML.Runtime.IHostEnvironment? environment, TaskKind task, TextTrainerOptions options)
    {
        _environment = environment;
        _task = task;
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _options.Validate();
        if (task == TaskKind.Binary)
            foreach (var (name, column) in new[] { (nameof(options.ScoreColumnName), options.ScoreColumnName), (nameof(options.PredictedLabelColumnName), options.PredictedLabelColumnName) })
                if (column == PredictionColumns.Probability)
                    throw new ArgumentException($"TextTrainerOptions.{name} '{column}' is the column a binary classifier adds for its probability: choose another name.", name);
    }

    private string[] TextColumns => _options.SecondTextColumnName is { } second ? [_options.TextColumnName, second] : [_options.TextColumnName];

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        foreach (var c in TextColumns) SchemaShapes.RequireText(inputSchema, c);
        if (!inputSchema.TryFind(_options.LabelColumnName, out var label))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{_options.LabelColumnName}' is not in the input.");
        var scalar = SchemaShape.Column.VectorKind.Scalar;
        return _task switch
        {
            TaskKind.Multiclass when !label.IsKey => throw LabelTypeError(label.ItemType),
            TaskKind.Multiclass => SchemaShapes.Append(inputSchema,
                new SchemaShapes.ColumnSpec(_options.ScoreColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false, HasSlotNames: true),
                new SchemaShapes.ColumnSpec(_options.PredictedLabelColumnName, scalar, label.ItemType, true, HasKeyValues: true)),
            TaskKind.Binary when label.ItemType is not BooleanDataViewType || label.Kind != scalar => throw LabelTypeError(label.ItemType),
            TaskKind.Binary => SchemaShapes.Append(inputSchema,
                new SchemaShapes.ColumnSpec(_options.ScoreColumnName, scalar, NumberDataViewType.Single, false),
                new SchemaShapes.ColumnSpec(PredictionColumns.Probability, scalar, NumberDataViewType.Single, false),
                new SchemaShapes.ColumnSpec(_options.PredictedLabelColumnName, scalar, BooleanDataViewType.Instance, false)),
            _ when label.ItemType != NumberDataViewType.Single || label.Kind != scalar => throw LabelTypeError(label.ItemType),
            _ => SchemaShapes.Append(inputSchema, new SchemaShapes.ColumnSpec(_options.ScoreColumnName, scalar, NumberDataViewType.Single, false)),
        };
    }

    private ArgumentOutOfRangeException LabelTypeError(DataViewType actual) => new(nameof(actual), _task switch
    {
        TaskKind.Multiclass => $"Label column '{_options.LabelColumnName}' must be a key type for multiclass classification (use mlContext.Transforms.Conversion.MapValueToKey); it is {actual}.",
        TaskKind.Binary => $"Label column '{_options.LabelColumnName}' must be Boolean for binary classification; it is {actual}.",
        _ => $"Label column '{_options.LabelColumnName}' must be Single (float) for regression; it is {actual}.",
    });

    public TextPredictionTransformer Fit(IDataView input)
    {
        GetOutputSchema(SchemaShapes.FromSchema(input.Schema));
        var labelColumn = input.Schema[_options.LabelColumnName];
        var labelInfo = LabelInfo.From(_task, labelColumn, _options.LabelColumnName);
        var train = ReadRows(input, labelInfo, "training data");
        if (train.Count == 0)
            throw new InvalidOperationException($"The training data has no rows with a label in column '{_options.LabelColumnName}'.");
        labelInfo.CheckTrainingLabels(train.Select(r => r.Label), _options.LabelColumnName);

        List<Row>? validation = null;
        if (_options.ValidationSet is { } vs)
        {
            GetOutputSchema(SchemaShapes.FromSchema(vs.Schema));
            validation = ReadRows(vs, labelInfo, "validation data");
        }

        var device = _options.Device.Resolve();
        var precision = _options.ResolvePrecision();
        using var log = new ComponentLog(_environment, _task == TaskKind.Regression ? "TextRegressor" : "TextClassifier", "Training", _options.Logger);
        lock (TrainingLoop.RandomStateLock)
            return FitSeeded(train, validation, labelInfo, device, precision, log);
    }

    private TextPredictionTransformer FitSeeded(List<Row> train, List<Row>? validation, LabelInfo labelInfo, TorchSharp.torch.Device device, PrecisionChoice precision, ComponentLog log)
    {
        TorchSharp.torch.manual_seed(_options.Seed); // the initial weights come from the seed too
        var built = TextModelFactory.Build(_options, _task, labelInfo.Outputs, TextColumns, train.Select(r => r.Texts[0]).Concat(train.Where(r => r.Texts.Length > 1).Select(r => r.Texts[1])));
        try
        {
            float mean = 0, std = 1;
            if (_task == TaskKind.Regression)
            {
                mean = (float)train.Average(r => r.Label);
                std = (float)Math.Sqrt(train.Average(r => (r.Label - mean) * (r.Label - mean)));
                if (!(std > 1e-12f)) std = 1; // constant label: nothing to scale
            }
            List<TrainingExample> ToExamples(List<Row> rows) => rows.Select(r => new TrainingExample(
                built.Tokenizer.Encode(r.Texts[0], r.Texts.Length > 1 ? r.Texts[1] : null, _options.MaxLength),
                _task == TaskKind.Regression ? (r.Label - mean) / std : r.Label)).ToList();

            var training = _options.ToTrainingOptions(precision.Value);
            log.Info($"training {Describe(built.Spec)} on {train.Count} rows{(validation is null ? "" : $" ({validation.Count} validation rows)")}: " +
                     $"{training.Epochs} epochs, batch size {training.BatchSize}, learning rate {training.LearningRate:G3}, max length {_options.MaxLength}, {precision.Name}, on {_options.Device}");
            var started = System.Diagnostics.Stopwatch.StartNew();
            var epochs = new EpochLog(log, _options.EpochProgress, started);
            var result = TrainingLoop.Train(built.Model, _task, ToExamples(train), validation is null ? null : ToExamples(validation),
                training, built.Tokenizer.Special.Padding, device,
                epochs, _options.BatchProgress, _options.CancellationToken, _options.StopToken);
            log.Info($"trained in {started.Elapsed.TotalSeconds:F1} s; best epoch {result.BestEpoch} of {result.Epochs.Count}{(result.StoppedEarly ? " (stopped early)" : "")}{(result.Stopped ? " (stopped by its time limit)" : "")}");

            var spec = built.Spec with { LabelNames = labelInfo.Names, LabelMean = mean, LabelStd = std, Precision = precision.Value };
            return new TextPredictionTransformer(spec, built.Model, built.Tokenizer, built.TokenizerFiles, device, result, precision);
        }
        catch
        {
            built.Model.Dispose();
            throw;
        }
    }

    private static string Describe(TextModelSpec spec) => spec.Body.Encoder switch
    {
        TextEncoderKind.Checkpoint => $"a {spec.Body.Transformer?.ModelType} checkpoint ({spec.Body.Transformer?.NumLayers} layers, hidden {spec.Body.Transformer?.HiddenSize})",
        TextEncoderKind.Transformer => $"a transformer from scratch ({spec.Body.Transformer?.NumLayers} layers, hidden {spec.Body.Transformer?.HiddenSize})",
        _ => "an LSTM",
    };

    /// <summary>Each epoch to the log with the time left (the mean epoch so far times the epochs to go), then to the caller's progress.</summary>
    private sealed class EpochLog(ComponentLog log, IProgress<EpochReport>? inner, System.Diagnostics.Stopwatch started) : IProgress<EpochReport>
    {
        public void Report(EpochReport r)
        {
            double left = started.Elapsed.TotalSeconds / r.Epoch * (r.Epochs - r.Epoch);
            log.Info($"epoch {r.Epoch}/{r.Epochs}: train loss {r.TrainLoss:F4}{(r.ValidationMetric is { } v ? $", validation {r.MetricName} {v:F4}" : "")}, " +
                     $"{r.Seconds:F1} s{(r.Epoch < r.Epochs ? $", about {left:F0} s left" : "")}");
            inner?.Report(r);
        }
    }

    private sealed record Row(string[] Texts, float Label);

    /// <summary>Reads texts and labels; rows whose label is missing (key 0, NaN) are skipped, empty texts kept.</summary>
    private List<Row> ReadRows(IDataView data, LabelInfo label, string what)
    {
        var textCols = TextColumns.Select(n => data.Schema[n]).ToArray();
        var labelCol = data.Schema[_options.LabelColumnName];
        using var cursor = data.GetRowCursor(textCols.Append(labelCol));
        var getters = textCols.Select(c => cursor.GetGetter<ReadOnlyMemory<char>>(c)).ToArray();
        var readLabel = label.Getter(cursor, labelCol);
        var rows = new List<Row>();
        ReadOnlyMemory<char> text = default;
        while (cursor.MoveNext())
        {
            _options.CancellationToken.ThrowIfCancellationRequested();
            float y = readLabel();
            if (float.IsNaN(y)) continue;
            var texts = new string[getters.Length];
            for (int i = 0; i < getters.Length; i++)
            {
                getters[i](ref text);
                texts[i] = text.ToString();
            }
            rows.Add(new Row(texts, y));
        }
        return rows;
    }
}
