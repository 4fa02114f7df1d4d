using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Training;

/// <summary>
/// The optimizer side of every training loop here (fine-tuning and masked-language-model pretraining alike): AdamW
/// with decoupled weight decay on matrices only (biases, LayerNorm and other vectors keep theirs), linear warm-up then
/// linear decay of the learning rate, gradient clipping, and the finite-loss check. One optimizer step is
/// <see cref="Step"/>; its state can be saved and loaded so a run continues where it stopped.
/// </summary>
internal sealed class ScheduledAdamW : IDisposable
{
    private readonly List<Parameter> _trainable;
    private readonly AdamW _optimizer;
    private readonly double _peak, _maxGradNorm;
    private readonly int _warmupSteps;

    public ScheduledAdamW(IEnumerable<Parameter> trainable, double learningRate, double weightDecay, double maxGradNorm, int totalSteps, double warmupRatio)
    {
        _trainable = trainable.ToList();
        if (_trainable.Count == 0) throw new InvalidOperationException("The model has no trainable parameters.");
        var groups = new List<AdamW.ParamGroup>
        {
            new(_trainable.Where(p => p.dim() >= 2), new AdamW.Options { weight_decay = weightDecay, LearningRate = learningRate }),
            new(_trainable.Where(p => p.dim() < 2), new AdamW.Options { weight_decay = 0, LearningRate = learningRate }),
        };
        _optimizer = optim.AdamW(groups, lr: learningRate, weight_decay: weightDecay);
        _peak = learningRate;
        _maxGradNorm = maxGradNorm;
        TotalSteps = totalSteps;
        _warmupSteps = (int)Math.Round(warmupRatio * totalSteps);
    }

    /// <summary>Optimizer steps taken so far (the schedule's position).</summary>
    public int Steps { get; private set; }
    public int TotalSteps { get; }

    /// <summary>The learning rate of the last step taken (0 before the first).</summary>
    public double LearningRate => _optimizer.ParamGroups.First().LearningRate;

    /// <summary>Sets the learning rate for the next step, clips the summed gradients, updates the weights and clears the gradients.</summary>
    public void Step()
    {
        Steps++;
        double lr = _peak * Schedule(Steps, _warmupSteps, TotalSteps);
        foreach (var g in _optimizer.ParamGroups) g.LearningRate = lr;
        if (_maxGradNorm > 0)
            nn.utils.clip_grad_norm_(_trainable, _maxGradNorm);
        _optimizer.step();
        _optimizer.zero_grad();
    }

    public void ZeroGrad() => _optimizer.zero_grad();

    /// <summary>Linear warm-up to 1, then linear decay to 0 at the last step.</summary>
    public static double Schedule(int step, int warmupSteps, int totalSteps)
    {
        if (warmupSteps > 0 && step <= warmupSteps) return (double)step / warmupSteps;
        return Math.Max(0.0, (double)(totalSteps - step + 1) / Math.Max(1, totalSteps - warmupSteps));
    }

    /// <summary>The loss as a number, or <see cref="TrainingDivergedException"/> when it is not finite.
    /// <paramref name="where"/> says where ("epoch 2, batch 7"); the message adds the step and learning rate.</summary>
    public double CheckedLoss(Tensor loss, string where, string advice)
    {
        double value = loss.item<float>();
        if (!double.IsFinite(value))
            throw new TrainingDivergedException(
                $"The training loss became {value} at {where} (optimizer step {Steps + 1}) with learning rate {LearningRate:G3}. {advice}");
        return value;
    }

    /// <summary>Writes the moment estimates and per-parameter step counts (TorchSharp's optimizer state format).</summary>
    public void SaveState(Stream stream)
    {
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        _optimizer.save_state_dict(writer);
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote for the same parameters, and resumes the schedule at <paramref name="steps"/>.</summary>
    public void LoadState(Stream stream, int steps)
    {
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        _optimizer.load_state_dict(reader);
        Steps = steps;
        double lr = _peak * Schedule(Math.Max(1, steps), _warmupSteps, TotalSteps);
        foreach (var g in _optimizer.ParamGroups) g.LearningRate = lr;
    }

    public void Dispose() => _optimizer.Dispose();
}
