namespace MlNetLlm.AutoMl;

/// <summary>Parameter names used by the default spaces (the ML.NET ones match the trainers' option property names).</summary>
public static class ParameterNames
{
    public const string LearningRate = "LearningRate";
    public const string BatchSize = "BatchSize";
    public const string Epochs = "Epochs";
    public const string WarmupRatio = "WarmupRatio";
    public const string WeightDecay = "WeightDecay";
    public const string MaxLength = "MaxLength";
    public const string HiddenSize = "HiddenSize";
    public const string Layers = "Layers";
    public const string Dropout = "Dropout";
    public const string L1Regularization = "L1Regularization";
    public const string L2Regularization = "L2Regularization";
    public const string NumberOfLeaves = "NumberOfLeaves";
    public const string NumberOfIterations = "NumberOfIterations";
    public const string MinimumExampleCountPerLeaf = "MinimumExampleCountPerLeaf";
}

/// <summary>
/// Default search spaces. Each call returns a new space, so callers may add to it. Low-cost values are where
/// cost-frugal optimization starts: one epoch, short sequences, few trees/leaves.
/// </summary>
public static class SearchSpaces
{
    private static readonly object[] BatchSizes = [8, 16, 32, 64, 128];
    private static readonly object[] MaxLengths = [64, 128, 256];

    /// <summary>Fine-tuning a pretrained encoder, in the ranges where fine-tuning small pretrained encoders works:
    /// learning rate log [1e-5, 3e-4] (default and low-cost 1e-4), batch size {16, 32, 64} (32), epochs [1, 4] (default
    /// 2, low-cost 1), warmup ratio [0, 0.2] (0.1), weight decay [0, 0.1] (0.01), max length {64, 128, 256} (default and
    /// low-cost 128: a pretrained encoder reads whole reviews better than halves). Where they come from: BERT's paper
    /// tried 2e-5..5e-5 and 2-4 epochs, Hugging Face's Trainer searches 1e-6..1e-4 and 1-5 epochs; the project's grid of
    /// 2026-12-07 (MiniLM on a quarter of the Amazon and spam training rows, validation rows only; bench/README.md,
    /// "Fine-tuning grid") had its best at 3e-4 on both and 3e-5 failing to learn in one epoch (the majority class).</summary>
    public static SearchSpace TransformerFineTune() => new SearchSpace()
        .AddFloat(ParameterNames.LearningRate, 1e-5, 3e-4, log: true, defaultValue: 1e-4, lowCost: 1e-4)
        .AddChoice(ParameterNames.BatchSize, [16, 32, 64], defaultValue: 32, lowCost: 32)
        .AddInt(ParameterNames.Epochs, 1, 4, defaultValue: 2, lowCost: 1)
        .AddFloat(ParameterNames.WarmupRatio, 0, 0.2, defaultValue: 0.1)
        .AddFloat(ParameterNames.WeightDecay, 0, 0.1, defaultValue: 0.01)
        .AddChoice(ParameterNames.MaxLength, MaxLengths, defaultValue: 128, lowCost: 128);

    /// <summary>
    /// Fine-tuning configurations tried first, in order (the experiment's warm start); the first is the one the scheduler
    /// trains on all rows at once, so it is the one measured best on all rows: lr 1e-4 / batch 16 / 2 epochs (Amazon's
    /// 3,200 fit rows: 0.836 validation accuracy, 0.835 after its first epoch). The grid of 2026-12-07 (bench/README.md,
    /// "Fine-tuning grid": 12 points on a quarter of the Amazon and spam training rows, validation rows only) ranked
    /// lr 3e-4 / batch 32 / 1 epoch first on both, but on all Amazon rows it reached 0.824: a quarter-row ranking did not
    /// carry over to all rows. It and lr 1e-4 / batch 32 / 2 epochs (second on the grid) follow.
    /// </summary>
    public static IReadOnlyList<ParameterSet> FineTunePortfolio()
    {
        var space = TransformerFineTune();
        ParameterSet Config(double lr, int batch, int epochs) => space.Create(new Dictionary<string, object>
        {
            [ParameterNames.LearningRate] = lr, [ParameterNames.BatchSize] = batch, [ParameterNames.Epochs] = epochs,
        });
        return [Config(1e-4, 16, 2), Config(3e-4, 32, 1), Config(1e-4, 32, 2)];
    }

    /// <summary>Training a small transformer from scratch: learning rate log [1e-5, 1e-2] (default and low-cost 1e-3),
    /// batch size {8..128} (32), epochs [1, 10] (default 5, low-cost 1), warmup ratio [0, 0.3] (0.1), weight decay
    /// [0, 0.3] (0.01), max length {64, 128, 256} (default 128, low-cost 64).</summary>
    public static SearchSpace FromScratch() => Transformer(1e-5, 1e-2, learningRate: 1e-3, epochs: 5, maxLengthLowCost: 64);

    // The transformer spaces differ only in the learning rate range and point, the default epochs and the cheap length.
    private static SearchSpace Transformer(double lrMin, double lrMax, double learningRate, int epochs, int maxLengthLowCost) => new SearchSpace()
        .AddFloat(ParameterNames.LearningRate, lrMin, lrMax, log: true, defaultValue: learningRate, lowCost: learningRate)
        .AddChoice(ParameterNames.BatchSize, BatchSizes, defaultValue: 32, lowCost: 32)
        .AddInt(ParameterNames.Epochs, 1, 10, defaultValue: epochs, lowCost: 1)
        .AddFloat(ParameterNames.WarmupRatio, 0, 0.3, defaultValue: 0.1)
        .AddFloat(ParameterNames.WeightDecay, 0, 0.3, defaultValue: 0.01)
        .AddChoice(ParameterNames.MaxLength, MaxLengths, defaultValue: 128, lowCost: maxLengthLowCost);

    /// <summary>An LSTM text model: learning rate log [1e-4, 1e-1] (1e-3), batch size {8..128} (32), epochs [1, 10]
    /// (default 5, low-cost 1), hidden size {64, 128, 256, 512} (default 128, low-cost 64), layers [1, 3] (1),
    /// dropout [0, 0.5] (0.1), max length {64, 128, 256} (default 128, low-cost 64).</summary>
    public static SearchSpace Lstm() => new SearchSpace()
        .AddFloat(ParameterNames.LearningRate, 1e-4, 1e-1, log: true, defaultValue: 1e-3, lowCost: 1e-3)
        .AddChoice(ParameterNames.BatchSize, BatchSizes, defaultValue: 32, lowCost: 32)
        .AddInt(ParameterNames.Epochs, 1, 10, defaultValue: 5, lowCost: 1)
        .AddChoice(ParameterNames.HiddenSize, [64, 128, 256, 512], defaultValue: 128, lowCost: 64)
        .AddInt(ParameterNames.Layers, 1, 3, defaultValue: 1, lowCost: 1)
        .AddFloat(ParameterNames.Dropout, 0, 0.5, defaultValue: 0.1)
        .AddChoice(ParameterNames.MaxLength, MaxLengths, defaultValue: 128, lowCost: 64);

    /// <summary>ML.NET SdcaMaximumEntropy: L2 and L1 regularization, both log [1e-6, 1] (defaults 1e-4 and 1e-6).</summary>
    public static SearchSpace SdcaMaximumEntropy() => new SearchSpace()
        .AddFloat(ParameterNames.L2Regularization, 1e-6, 1, log: true, defaultValue: 1e-4)
        .AddFloat(ParameterNames.L1Regularization, 1e-6, 1, log: true, defaultValue: 1e-6);

    /// <summary>ML.NET LbfgsMaximumEntropy: L1 and L2 regularization weights, both log [1e-4, 10] (ML.NET's default 1).</summary>
    public static SearchSpace LbfgsMaximumEntropy() => new SearchSpace()
        .AddFloat(ParameterNames.L1Regularization, 1e-4, 10, log: true, defaultValue: 1)
        .AddFloat(ParameterNames.L2Regularization, 1e-4, 10, log: true, defaultValue: 1);

    /// <summary>ML.NET LightGbm: leaves log [4, 256] (default 31, low-cost 4), learning rate log [1e-3, 0.5] (0.1),
    /// iterations log [10, 500] (default 100, low-cost 10), min examples per leaf log [2, 100] (20).</summary>
    public static SearchSpace LightGbm() => new SearchSpace()
        .AddInt(ParameterNames.NumberOfLeaves, 4, 256, log: true, defaultValue: 31, lowCost: 4)
        .AddFloat(ParameterNames.LearningRate, 1e-3, 0.5, log: true, defaultValue: 0.1)
        .AddInt(ParameterNames.NumberOfIterations, 10, 500, log: true, defaultValue: 100, lowCost: 10)
        .AddInt(ParameterNames.MinimumExampleCountPerLeaf, 2, 100, log: true, defaultValue: 20);
}
