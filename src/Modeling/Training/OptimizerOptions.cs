namespace MlNetLlm.Modeling.Training;

/// <summary>
/// The AdamW settings every trainer here shares (fine-tuning a text model, masked-LM pretraining, the training loop
/// itself): defined and checked once, as ML.NET's trainer options share their base classes.
/// </summary>
public abstract class OptimizerOptions
{
    public int BatchSize { get; set; } = 16;
    /// <summary>Null: the trainer picks a default for what it trains (the derived options say which).</summary>
    public double? LearningRate { get; set; }
    public double WeightDecay { get; set; } = 0.01;
    /// <summary>Fraction of all optimizer steps spent warming the learning rate up from 0; then it decays linearly to 0.</summary>
    public double WarmupRatio { get; set; } = 0.1;
    /// <summary>Gradient norm clip; 0 or less disables clipping.</summary>
    public double MaxGradNorm { get; set; } = 1.0;
    /// <summary>Batches whose gradients are summed before one optimizer step.</summary>
    public int GradientAccumulationSteps { get; set; } = 1;
    public int Seed { get; set; } = 1;

    /// <summary>Checks the shared values; messages name the option as <paramref name="owner"/>.Property, the class its
    /// user set it on.</summary>
    private protected void ValidateOptimizer(string owner)
    {
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"{owner}.BatchSize must be at least 1.");
        if (LearningRate is { } lr && !(lr > 0 && double.IsFinite(lr))) throw new ArgumentOutOfRangeException(nameof(LearningRate), lr, $"{owner}.LearningRate must be a positive number.");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, $"{owner}.WeightDecay must be 0 or more.");
        if (WarmupRatio is < 0 or >= 1 || double.IsNaN(WarmupRatio)) throw new ArgumentOutOfRangeException(nameof(WarmupRatio), WarmupRatio, $"{owner}.WarmupRatio must be in [0, 1).");
        if (GradientAccumulationSteps < 1) throw new ArgumentOutOfRangeException(nameof(GradientAccumulationSteps), GradientAccumulationSteps, $"{owner}.GradientAccumulationSteps must be at least 1.");
    }

    /// <summary>Copies the shared values onto <paramref name="to"/> (the training loop's options), the learning rate resolved.</summary>
    private protected T CopyOptimizerTo<T>(T to, double learningRate) where T : OptimizerOptions
    {
        (to.BatchSize, to.LearningRate, to.WeightDecay, to.WarmupRatio, to.MaxGradNorm, to.GradientAccumulationSteps, to.Seed) =
            (BatchSize, learningRate, WeightDecay, WarmupRatio, MaxGradNorm, GradientAccumulationSteps, Seed);
        return to;
    }
}
