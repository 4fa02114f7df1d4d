using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.Estimators.Jobs;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;
using MlNetLlm.Transforms.Embeddings;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>
/// A frozen checkpoint's embeddings of the experiment's text column, computed once per experiment (same checkpoint,
/// pooling and max length) and shared by every embeddings candidate and trial: only the learner on top is refitted.
/// </summary>
public sealed class SharedEmbeddings(string checkpoint, Pooling pooling = Pooling.Mean, int maxLength = 128, Precision precision = Precision.Auto)
{
    private readonly object _gate = new();
    private TextEmbeddingTransformer? _embedder;

    public string Checkpoint { get; } = checkpoint;
    public Precision Precision { get; } = precision;
    /// <summary>Tokens per text the encoder reads.</summary>
    public int MaxLength { get; } = maxLength;

    /// <summary>Texts encoded so far (each distinct text once).</summary>
    public long EncodedTexts { get { lock (_gate) return _embedder?.EncodedTexts ?? 0; } }

    /// <summary>The one embedder (its vectors remembered by text), created on first use.</summary>
    public TextEmbeddingTransformer For(string textColumn, DeviceOptions device)
    {
        lock (_gate)
        {
            if (_embedder is null)
            {
                _embedder = TextEmbeddingEstimator.Create(new TextEmbeddingOptions
                {
                    InputColumnName = textColumn, OutputColumnName = "Features", CheckpointPath = Checkpoint, Pooling = pooling, MaxLength = MaxLength, Device = device,
                    Precision = Precision,
                });
                _embedder.RememberVectors();
            }
            else if (_embedder.InputColumnName != textColumn)
                throw new InvalidOperationException($"The shared embeddings were made for text column '{_embedder.InputColumnName}', not '{textColumn}'.");
            return _embedder;
        }
    }
}

/// <summary>Frozen-checkpoint embeddings (<see cref="SharedEmbeddings"/>) + a classical ML.NET learner (LightGbm or SDCA).</summary>
public sealed class EmbeddingCandidate : Candidate
{
    private readonly SharedEmbeddings _embeddings;

    /// <summary>Tokens per text the shared encoder reads (what its first trial costs grows with it).</summary>
    internal int MaxLength => _embeddings.MaxLength;
    private readonly string _trainer;

    private EmbeddingCandidate(string name, SearchSpace space, string trainer, SharedEmbeddings embeddings) : base(name, space, classical: false)
    {
        _trainer = trainer;
        _embeddings = embeddings;
    }

    public static EmbeddingCandidate LightGbm(SharedEmbeddings embeddings) => new("embeddings+lightgbm", SearchSpaces.LightGbm(), "lightgbm", embeddings) { ScoringCost = 2 };
    public static EmbeddingCandidate Sdca(SharedEmbeddings embeddings) => new("embeddings+sdca", SearchSpaces.SdcaMaximumEntropy(), "sdca", embeddings) { ScoringCost = 2 };

    public override string? ResolvePrecision(DeviceOptions device) => PrecisionSupport.Resolve(_embeddings.Precision, device, "ExperimentOptions.Precision").Name;

    protected override FittedPipeline Fit(MLContext ml, TextJobData data, IDataView? validation, ParameterSet p, DeviceOptions device, TrialControl control)
    {
        control.Cancellation.ThrowIfCancellationRequested();
        if (data.TextColumns.Length != 1) throw new NotSupportedException($"{Name} takes one text column.");
        var embedder = _embeddings.For(data.TextColumns[0], device);
        var trainer = _trainer == "lightgbm" ? ClassicalCandidate.LightGbmTrainer(ml, data.Task, p) : ClassicalCandidate.SdcaTrainer(ml, data.Task, p);
        var train = data.TrainView(ml);
        var learner = ml.Transforms.NormalizeMinMax("Features").AppendCacheCheckpoint(ml).Append(trainer).Fit(embedder.Transform(train));
        var model = new TransformerChain<ITransformer>(embedder, learner);
        return new FittedPipeline(TextTrainingJob.WithLabelNames(ml, data, model, train));
    }
}
