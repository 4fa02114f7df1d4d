using Microsoft.Extensions.Logging;
using MlNetLlm.MlNet;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;
using Microsoft.ML;

namespace MlNetLlm.Estimators;

/// <summary>Options of the text classification and regression trainers (one set for every task and encoder). A null
/// <see cref="OptimizerOptions.LearningRate"/> picks one for the encoder: 5e-5 fine-tuning, 1e-3 frozen or LSTM,
/// 5e-4 from-scratch transformer.</summary>
public sealed class TextTrainerOptions : OptimizerOptions
{
    public string LabelColumnName { get; set; } = "Label";
    public string TextColumnName { get; set; } = "Text";
    /// <summary>Second text of a sentence pair (separators / token types as the checkpoint expects); null for single texts.</summary>
    public string? SecondTextColumnName { get; set; }
    /// <summary>The score column the model adds (class probabilities, the binary logit, or the regressed value).</summary>
    public string ScoreColumnName { get; set; } = PredictionColumns.Score;
    /// <summary>The predicted-label column a classifier adds (a key for multiclass, a Boolean for binary).</summary>
    public string PredictedLabelColumnName { get; set; } = PredictionColumns.PredictedLabel;

    public TextEncoderKind Encoder { get; set; } = TextEncoderKind.Checkpoint;
    /// <summary>Hugging Face model folder (config.json, model.safetensors, tokenizer files) for <see cref="TextEncoderKind.Checkpoint"/>.</summary>
    public string? CheckpointPath { get; set; }
    /// <summary>Train only the head on top of a frozen checkpoint encoder.</summary>
    public bool FreezeEncoder { get; set; }
    /// <summary>How token states become one vector (checkpoint and from-scratch transformer).</summary>
    public Pooling Pooling { get; set; } = Pooling.Mean;
    /// <summary>GloVe text file (.txt or .txt.gz) whose vectors initialise the LSTM's word embeddings.</summary>
    public string? GlovePath { get; set; }

    /// <summary>Tokens per example including special tokens; longer texts are truncated. At most
    /// <see cref="MaxTransformerPositions"/> for the from-scratch transformer; a checkpoint stops at its own positions.</summary>
    public int MaxLength { get; set; } = 128;

    /// <summary>The largest <see cref="MaxLength"/> of the from-scratch transformer: the 512 positions of BERT checkpoints.</summary>
    public const int MaxTransformerPositions = 512;
    public int Epochs { get; set; } = 3;
    public double Dropout { get; set; } = 0.1;

    /// <summary>Validation data (same columns) for per-epoch metrics and early stopping.</summary>
    public IDataView? ValidationSet { get; set; }
    /// <summary>Epochs without validation improvement before stopping (best weights are restored); null: train all epochs.</summary>
    public int? EarlyStoppingPatience { get; set; }

    /// <summary>Word vocabulary size for the LSTM and from-scratch transformer.</summary>
    public int MaxVocabularySize { get; set; } = 20000;
    /// <summary>Words seen fewer times than this in the training text become [UNK].</summary>
    public int MinWordCount { get; set; } = 2;
    public int LstmEmbeddingSize { get; set; } = 100;
    public int LstmHiddenSize { get; set; } = 128;
    public int LstmLayers { get; set; } = 1;
    public bool LstmBidirectional { get; set; } = true;
    public int TransformerLayers { get; set; } = 2;
    public int TransformerHiddenSize { get; set; } = 128;
    public int TransformerHeads { get; set; } = 4;

    public DeviceOptions Device { get; set; } = new();
    /// <summary>Auto (default): bf16 matrix products where the device computes bf16 natively, fp32 elsewhere and for the
    /// LSTM. Weights, optimizer state, layer norms, pooling, the head and the loss stay fp32; the saved weights are fp32.
    /// The resolved choice is saved in the model and scores it after loading.</summary>
    public Precision Precision { get; set; } = Precision.Auto;
    /// <summary>Rows scored together by the fitted transformer's Transform.</summary>
    public int PredictionBatchSize { get; set; } = 64;

    /// <summary>Also receives the training messages that go to <c>MLContext.Log</c> (start, each epoch with the time left, end).</summary>
    public ILogger? Logger { get; set; }
    public IProgress<EpochReport>? EpochProgress { get; set; }
    public IProgress<BatchReport>? BatchProgress { get; set; }
    /// <summary>Cancels Fit within one batch (OperationCanceledException).</summary>
    public CancellationToken CancellationToken { get; set; }
    /// <summary>A time limit: when signalled, training ends at the next batch with the weights of the best validated epoch
    /// so far, and Fit returns that model (<c>Training.Stopped</c>); before any epoch was validated Fit throws
    /// <see cref="TrainingStoppedException"/>. Unlike <see cref="CancellationToken"/>, work already done is kept.</summary>
    public CancellationToken StopToken { get; set; }

    internal double EffectiveLearningRate => LearningRate ?? Encoder switch
    {
        TextEncoderKind.Checkpoint => FreezeEncoder ? 1e-3 : 5e-5,
        TextEncoderKind.Transformer => 5e-4,
        _ => 1e-3,
    };

    /// <summary>What <see cref="Precision"/> means for <see cref="Encoder"/> on <see cref="Device"/>: Fp32 or Bf16, and why.
    /// Throws when Bf16 is asked of the LSTM encoder.</summary>
    public PrecisionChoice ResolvePrecision() =>
        PrecisionSupport.Resolve(Precision, Device, "TextTrainerOptions.Precision", Encoder == TextEncoderKind.Lstm ? LstmTextEncoder.NoBf16 : null);

    internal TrainingOptions ToTrainingOptions(Precision resolved = Precision.Fp32) =>
        CopyOptimizerTo(new TrainingOptions { Epochs = Epochs, EarlyStoppingPatience = EarlyStoppingPatience, Precision = resolved }, EffectiveLearningRate);

    /// <summary>Checks the options that do not depend on data; messages name the option.</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(TextColumnName)) throw new ArgumentException("TextTrainerOptions.TextColumnName must be set.", nameof(TextColumnName));
        if (string.IsNullOrWhiteSpace(LabelColumnName)) throw new ArgumentException("TextTrainerOptions.LabelColumnName must be set.", nameof(LabelColumnName));
        foreach (var (name, column) in new[] { (nameof(TextColumnName), TextColumnName), (nameof(SecondTextColumnName), SecondTextColumnName) })
            if (column == LabelColumnName)
                throw new ArgumentException($"TextTrainerOptions.{name} '{column}' is the label column (TextTrainerOptions.LabelColumnName): the model would read the answer it is asked to predict.", name);
        if (string.IsNullOrWhiteSpace(ScoreColumnName)) throw new ArgumentException("TextTrainerOptions.ScoreColumnName must be set.", nameof(ScoreColumnName));
        if (string.IsNullOrWhiteSpace(PredictedLabelColumnName)) throw new ArgumentException("TextTrainerOptions.PredictedLabelColumnName must be set.", nameof(PredictedLabelColumnName));
        if (ScoreColumnName == PredictedLabelColumnName)
            throw new ArgumentException($"TextTrainerOptions.ScoreColumnName and TextTrainerOptions.PredictedLabelColumnName are both '{ScoreColumnName}': one column cannot hold both.", nameof(PredictedLabelColumnName));
        if (MaxLength < 3) throw new ArgumentOutOfRangeException(nameof(MaxLength), MaxLength, "TextTrainerOptions.MaxLength must be at least 3 (special tokens plus one text token).");
        // The from-scratch transformer has one learned position per token: its table grows with MaxLength. Bounded like
        // the pretrained checkpoints it imitates (BERT's max_position_embeddings, 512), whose tokenizers stop there too.
        if (Encoder == TextEncoderKind.Transformer && MaxLength > MaxTransformerPositions)
            throw new ArgumentOutOfRangeException(nameof(MaxLength), MaxLength,
                $"TextTrainerOptions.MaxLength must be at most {MaxTransformerPositions} for the from-scratch transformer (one learned position per token, as BERT checkpoints' {MaxTransformerPositions} positions); longer texts are truncated.");
        if (PredictionBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(PredictionBatchSize), PredictionBatchSize, "TextTrainerOptions.PredictionBatchSize must be at least 1.");
        if (Dropout is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "TextTrainerOptions.Dropout must be in [0, 1).");
        if (Encoder == TextEncoderKind.Checkpoint && string.IsNullOrWhiteSpace(CheckpointPath))
            throw new ArgumentException("TextTrainerOptions.Encoder is Checkpoint but TextTrainerOptions.CheckpointPath is not set: give a Hugging Face model folder, or choose Encoder = Transformer or Lstm.", nameof(CheckpointPath));
        if (GlovePath is not null && Encoder != TextEncoderKind.Lstm)
            throw new ArgumentException("TextTrainerOptions.GlovePath initialises the LSTM's embeddings; set Encoder = Lstm or remove GlovePath.", nameof(GlovePath));
        if (Encoder == TextEncoderKind.Transformer && TransformerHiddenSize % TransformerHeads != 0)
            throw new ArgumentException($"TextTrainerOptions.TransformerHiddenSize {TransformerHiddenSize} must be divisible by TextTrainerOptions.TransformerHeads {TransformerHeads}.", nameof(TransformerHiddenSize));
        if (!Enum.IsDefined(Precision))
            throw new ArgumentOutOfRangeException(nameof(Precision), Precision, "TextTrainerOptions.Precision must be Auto, Fp32 or Bf16.");
        if (Precision == Precision.Bf16 && Encoder == TextEncoderKind.Lstm)
            ResolvePrecision(); // throws, naming the option, before any data is read
        ToTrainingOptions().Validate(nameof(TextTrainerOptions));
    }

    /// <summary>A copy whose changes leave these options as they are (the collections are shared: they are not changed).</summary>
    internal TextTrainerOptions Copy() => (TextTrainerOptions)MemberwiseClone();
}
