using MlNetLlm.Modeling.Training;
using MlNetLlm.Modeling.Runtime;

namespace MlNetLlm.Modeling.Pretraining;

/// <summary>
/// Masked-language-model pretraining: continued pretraining of a checkpoint on your own text (domain-adaptive
/// pretraining), or a small BERT trained from scratch. Errors name these properties (MaskedLmOptions.Steps, ...);
/// a front end such as the CLI maps them to its own option names. A null LearningRate is 5e-5 continuing a checkpoint,
/// 5e-4 from scratch.
/// </summary>
public sealed class MaskedLmOptions : OptimizerOptions
{
    /// <summary>The checkpoint to continue from: a save_pretrained folder (one this pretraining wrote included, whose
    /// head is kept) or a bundled name (minilm, arctic-xs). Null trains a new BERT from scratch (<see cref="Layers"/>, ...).</summary>
    public string? CheckpointPath { get; set; } = "minilm";
    /// <summary>The save_pretrained folder this writes: config.json, model.safetensors (encoder and head), the tokenizer
    /// files, and pretraining/ (the optimizer state and progress that <see cref="Resume"/> continues from).</summary>
    public string OutputFolder { get; set; } = "";
    /// <summary>Continue the run already in <see cref="OutputFolder"/> from its last save; the options must be those it started with.</summary>
    public bool Resume { get; set; }

    /// <summary>From scratch only: the checkpoint (folder or bundled name) whose tokenizer to use; null builds a word
    /// vocabulary from the text (<see cref="MaxVocabularySize"/>, <see cref="MinWordCount"/>).</summary>
    public string? TokenizerPath { get; set; }
    public int MaxVocabularySize { get; set; } = 20000;
    public int MinWordCount { get; set; } = 2;
    public int Layers { get; set; } = 2;
    public int HiddenSize { get; set; } = 128;
    public int Heads { get; set; } = 4;
    /// <summary>Null: 4 × <see cref="HiddenSize"/>, as BERT.</summary>
    public int? IntermediateSize { get; set; }
    public double Dropout { get; set; } = 0.1;

    /// <summary>Tokens per sequence including the two special tokens; longer texts are cut into several sequences.</summary>
    public int MaxLength { get; set; } = 128;
    /// <summary>Optimizer steps in all; null: <see cref="Epochs"/> passes over the text. Give one of the two.</summary>
    public int? Steps { get; set; }
    /// <summary>Passes over the text when <see cref="Steps"/> is null (default 1).</summary>
    public int? Epochs { get; set; }
    public bool LengthBucketing { get; set; } = true;

    /// <summary>Share of the non-special tokens chosen for prediction (BERT: 0.15).</summary>
    public double MaskProbability { get; set; } = 0.15;
    /// <summary>Choose whole words (a WordPiece token and its "##" continuations) together; WordPiece tokenizers only.</summary>
    public bool WholeWordMasking { get; set; }
    /// <summary>Share of the texts held out to measure the masked-LM loss and accuracy at every save (fixed masks); 0: none.</summary>
    public double ValidationFraction { get; set; }
    /// <summary>Optimizer steps between saves (and at the end, and when cancelled): a killed run loses at most these.</summary>
    public int SaveEverySteps { get; set; } = 200;

    public DeviceOptions Device { get; set; } = new();
    /// <summary>Auto: bf16 products where the device computes bf16 natively; weights, optimizer state, layer norms and the loss stay fp32.</summary>
    public Precision Precision { get; set; } = Precision.Auto;

    internal bool FromScratch => CheckpointPath is null;
    internal double EffectiveLearningRate => LearningRate ?? (FromScratch ? 5e-4 : 5e-5);

    /// <summary>Checks every value that needs no data; messages name the property.</summary>
    public void Validate()
    {
        const string O = nameof(MaskedLmOptions);
        if (string.IsNullOrWhiteSpace(OutputFolder)) throw new ArgumentException($"{O}.OutputFolder must be set: the folder the pretrained model is written to.", nameof(OutputFolder));
        if (CheckpointPath is not null && string.IsNullOrWhiteSpace(CheckpointPath)) throw new ArgumentException($"{O}.CheckpointPath is empty: give a checkpoint folder or bundled name, or null to train from scratch.", nameof(CheckpointPath));
        if (!FromScratch)
        {
            string? given = TokenizerPath is not null ? "TokenizerPath" : Layers != 2 ? "Layers" : HiddenSize != 128 ? "HiddenSize" : Heads != 4 ? "Heads"
                : IntermediateSize is not null ? "IntermediateSize" : MaxVocabularySize != 20000 ? "MaxVocabularySize" : MinWordCount != 2 ? "MinWordCount" : Dropout != 0.1 ? "Dropout" : null;
            if (given is not null)
                throw new ArgumentException($"{O}.{given} shapes a model trained from scratch; continuing {O}.CheckpointPath '{CheckpointPath}' keeps that checkpoint's shape and tokenizer. Set {O}.CheckpointPath to null, or leave {O}.{given} at its default.", given);
        }
        if (MaxLength < 3) throw new ArgumentOutOfRangeException(nameof(MaxLength), MaxLength, $"{O}.MaxLength must be at least 3 (two special tokens and one text token).");
        if (FromScratch && MaxLength > 512) throw new ArgumentOutOfRangeException(nameof(MaxLength), MaxLength, $"{O}.MaxLength must be at most 512 for a model from scratch (one learned position per token, as BERT).");
        if (Steps is < 1) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, $"{O}.Steps must be at least 1.");
        if (Epochs is < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, $"{O}.Epochs must be at least 1.");
        if (Steps is not null && Epochs is not null) throw new ArgumentException($"Give {O}.Steps or {O}.Epochs, not both.", nameof(Epochs));
        ValidateOptimizer(O);
        if (!(MaskProbability is > 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(MaskProbability), MaskProbability, $"{O}.MaskProbability must be between 0 and 1 (BERT: 0.15).");
        if (!(ValidationFraction is >= 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(ValidationFraction), ValidationFraction, $"{O}.ValidationFraction must be in [0, 1).");
        if (SaveEverySteps < 1) throw new ArgumentOutOfRangeException(nameof(SaveEverySteps), SaveEverySteps, $"{O}.SaveEverySteps must be at least 1.");
        if (!Enum.IsDefined(Precision)) throw new ArgumentOutOfRangeException(nameof(Precision), Precision, $"{O}.Precision must be Auto, Fp32 or Bf16.");
        if (FromScratch)
        {
            if (Layers < 1 || HiddenSize < 1 || Heads < 1 || IntermediateSize is < 1)
                throw new ArgumentOutOfRangeException(nameof(Layers), $"{O}.Layers, {O}.HiddenSize, {O}.Heads and {O}.IntermediateSize must be positive.");
            if (HiddenSize % Heads != 0) throw new ArgumentException($"{O}.HiddenSize {HiddenSize} must be divisible by {O}.Heads {Heads}.", nameof(HiddenSize));
            if (Dropout is < 0 or >= 1 || double.IsNaN(Dropout)) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, $"{O}.Dropout must be in [0, 1).");
            if (TokenizerPath is null && MaxVocabularySize <= 5) throw new ArgumentOutOfRangeException(nameof(MaxVocabularySize), MaxVocabularySize, $"{O}.MaxVocabularySize must leave room beyond the 5 special tokens.");
            if (TokenizerPath is null && MinWordCount < 1) throw new ArgumentOutOfRangeException(nameof(MinWordCount), MinWordCount, $"{O}.MinWordCount must be at least 1.");
        }
    }

    /// <summary>What decides the numbers a run produces (not where it runs or how often it saves): a resumed run must
    /// match it. Property name → value as text.</summary>
    internal SortedDictionary<string, string> Identity(int totalSteps) => new(StringComparer.Ordinal)
    {
        [nameof(CheckpointPath)] = CheckpointPath ?? "(from scratch)",
        [nameof(TokenizerPath)] = FromScratch ? TokenizerPath ?? "(words from the text)" : "(the checkpoint's)",
        ["Shape"] = FromScratch ? Inv($"{Layers} layers, hidden {HiddenSize}, {Heads} heads, intermediate {IntermediateSize ?? 4 * HiddenSize}, dropout {Dropout:R}, vocabulary {MaxVocabularySize}/{MinWordCount}") : "(the checkpoint's)",
        [nameof(MaxLength)] = Inv($"{MaxLength}"),
        [nameof(Steps)] = Inv($"{totalSteps}"),
        [nameof(BatchSize)] = Inv($"{BatchSize}"),
        [nameof(LearningRate)] = Inv($"{EffectiveLearningRate:R}"),
        [nameof(WeightDecay)] = Inv($"{WeightDecay:R}"),
        [nameof(WarmupRatio)] = Inv($"{WarmupRatio:R}"),
        [nameof(MaxGradNorm)] = Inv($"{MaxGradNorm:R}"),
        [nameof(GradientAccumulationSteps)] = Inv($"{GradientAccumulationSteps}"),
        [nameof(LengthBucketing)] = Inv($"{LengthBucketing}"),
        [nameof(MaskProbability)] = Inv($"{MaskProbability:R}"),
        [nameof(WholeWordMasking)] = Inv($"{WholeWordMasking}"),
        [nameof(ValidationFraction)] = Inv($"{ValidationFraction:R}"),
        [nameof(Seed)] = Inv($"{Seed}"),
    };

    private static string Inv(FormattableString f) => FormattableString.Invariant(f);
}
