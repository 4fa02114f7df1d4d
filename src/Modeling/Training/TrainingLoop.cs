using System.Diagnostics;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Training;

/// <summary>A training row: the encoded text(s) and the target (class index, 0/1, or the standardised value).</summary>
internal sealed record TrainingExample(EncodedText Input, float Target);

/// <summary>
/// The one training loop (nanoGPT style: one obvious loop for every encoder and head). AdamW with decoupled weight
/// decay on matrices only, linear warm-up then linear decay, gradient clipping and accumulation, per-epoch shuffling
/// from the seed, dynamic padding with length bucketing, optional validation with early stopping that restores the
/// best weights, progress per batch and per epoch, cancellation checked at every batch, and a clear error on NaN loss.
/// Same seed, same data, CPU: same numbers.
/// </summary>
internal static class TrainingLoop
{
    /// <summary>
    /// libtorch has one global random generator (weight init, dropout). Seeded work holds this lock from seeding to the
    /// end of training, so two fits in one process do not draw from each other's sequence.
    /// </summary>
    public static readonly object RandomStateLock = new();

    public static TrainingResult Train(
        TextHeadModel model, TaskKind task,
        IReadOnlyList<TrainingExample> train, IReadOnlyList<TrainingExample>? validation,
        TrainingOptions options, int padId, Device device,
        IProgress<EpochReport>? epochProgress = null, IProgress<BatchReport>? batchProgress = null,
        CancellationToken cancellationToken = default, CancellationToken stopToken = default)
    {
        options.Validate();
        if (train.Count == 0) throw new ArgumentException("There are no training rows.", nameof(train));
        if (options.EarlyStoppingPatience is not null && (validation is null || validation.Count == 0))
            throw new ArgumentException("EarlyStoppingPatience needs a validation set.", nameof(validation));

        torch.manual_seed(options.Seed);
        model.to(device);
        int batchesPerEpoch = (train.Count + options.BatchSize - 1) / options.BatchSize;
        int stepsPerEpoch = (batchesPerEpoch + options.GradientAccumulationSteps - 1) / options.GradientAccumulationSteps;
        using var optimizer = new ScheduledAdamW(model.parameters().Where(p => p.requires_grad), options.LearningRate!.Value, options.WeightDecay,
            options.MaxGradNorm, stepsPerEpoch * options.Epochs, options.WarmupRatio);
        string metricName = task == TaskKind.Regression ? "r_squared" : "accuracy";

        var reports = new List<EpochReport>();
        Dictionary<string, Tensor>? best = null;
        double bestMetric = double.NegativeInfinity;
        int bestEpoch = 0, sinceBest = 0;
        double[]? bestRowScores = null;
        bool stoppedEarly = false, stopped = false;
        // A stop request (a time budget) ends training at a batch boundary with the best validated weights, so every
        // best epoch is kept when one may come.
        bool keepBest = options.EarlyStoppingPatience is not null || stopToken.CanBeCanceled;
        try
        {
            for (int epoch = 1; epoch <= options.Epochs && !stopped; epoch++)
            {
                var sw = Stopwatch.StartNew();
                model.train();
                var batches = MakeBatches(train.Select(e => e.Input.Length).ToList(), options.BatchSize, options.LengthBucketing, new Random(options.Seed * 7919 + epoch));
                // Padded tokens per batch: what a batch costs, so a caller can project the epoch from its first batches.
                long[] batchTokens = batches.Select(bt => (long)bt.Length * bt.Max(i => train[i].Input.Length)).ToArray();
                long epochTokens = batchTokens.Sum(), tokensSoFar = 0;
                double lossSum = 0;
                int lossCount = 0;
                optimizer.ZeroGrad();
                for (int b = 0; b < batches.Count; b++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (stopToken.IsCancellationRequested)
                    {
                        stopped = true;
                        break;
                    }
                    using var scope = NewDisposeScope();
                    var rows = batches[b].Select(i => train[i]).ToList();
                    var loss = Loss(model, task, rows, padId, device, options.Precision);
                    double value = optimizer.CheckedLoss(loss, $"epoch {epoch}, batch {b + 1}",
                        "Lower LearningRate, check the labels for NaN/Infinity, or raise MaxGradNorm clipping.");
                    MlNetLlm.Modeling.Architectures.TensorOps.DivideBy(loss, options.GradientAccumulationSteps).backward();
                    lossSum += value * rows.Count;
                    lossCount += rows.Count;
                    bool lastOfEpoch = b == batches.Count - 1;
                    if ((b + 1) % options.GradientAccumulationSteps == 0 || lastOfEpoch)
                        optimizer.Step();
                    tokensSoFar += batchTokens[b];
                    batchProgress?.Report(new BatchReport(epoch, b + 1, batches.Count, value, tokensSoFar, epochTokens));
                }
                if (stopped) break; // mid-epoch: this epoch is neither validated nor reported

                double? valLoss = null, valMetric = null;
                double[]? rowScores = null;
                if (validation is { Count: > 0 })
                {
                    var (l, m, r) = EvaluateRows(model, task, validation, options.BatchSize, padId, device, options.Precision);
                    (valLoss, valMetric, rowScores) = (l, m, r);
                }
                double metric = valMetric ?? -lossSum / lossCount;
                bool isBest = metric > bestMetric;
                if (isBest)
                {
                    bestMetric = metric;
                    bestEpoch = epoch;
                    bestRowScores = rowScores;
                    sinceBest = 0;
                    if (keepBest)
                        best = Snapshot(model, best);
                }
                else sinceBest++;
                var report = new EpochReport(epoch, options.Epochs, lossSum / lossCount, valLoss, valMetric, metricName, sw.Elapsed.TotalSeconds, optimizer.Steps, isBest);
                reports.Add(report);
                epochProgress?.Report(report);
                if (options.EarlyStoppingPatience is { } patience && sinceBest >= patience && epoch < options.Epochs)
                {
                    stoppedEarly = true;
                    break;
                }
            }
            if (stopped && reports.Count == 0)
                throw new TrainingStoppedException($"Training was stopped during epoch 1 of {options.Epochs}, before any epoch was validated: there is no model to keep.");
            if (best is not null && (bestEpoch != reports.Count || stopped))
                Restore(model, best);
        }
        finally
        {
            if (best is not null) foreach (var t in best.Values) t.Dispose();
            model.eval();
        }
        return new TrainingResult(reports, bestEpoch, stoppedEarly) { Stopped = stopped, BestValidationRowScores = bestRowScores };
    }

    private static Tensor Loss(TextHeadModel model, TaskKind task, List<TrainingExample> rows, int padId, Device device, Precision precision)
    {
        var batch = TokenBatch.Pad(rows.Select(r => r.Input).ToList(), padId);
        Tensor logits;
        // Only the forward pass needs the scope: autograd recorded the casts, so backward runs the same products in
        // bf16 and returns fp32 gradients to the fp32 weights. The logits come out of the fp32 head.
        using (Autocast.Enter(precision))
            logits = model.forward(batch.ToEncoderInput(device, model.Body.UsesTokenTypes));
        var targets = rows.Select(r => r.Target).ToArray();
        return task switch
        {
            TaskKind.Multiclass => nn.functional.cross_entropy(logits, tensor(targets.Select(t => (long)t).ToArray(), device: device)),
            TaskKind.Binary => nn.functional.binary_cross_entropy_with_logits(logits.squeeze(1), tensor(targets, device: device)),
            _ => nn.functional.mse_loss(logits.squeeze(1), tensor(targets, device: device)),
        };
    }

    /// <summary>Validation loss and metric: accuracy, or R² for regression (as ML.NET computes it; the targets' standardisation
    /// scales its two sums alike, so it is the R² of the original values), the unit an experiment compares trials in.</summary>
    public static (double Loss, double Metric) Evaluate(TextHeadModel model, TaskKind task, IReadOnlyList<TrainingExample> rows, int batchSize, int padId, Device device,
        Precision precision = Precision.Fp32)
    {
        var (loss, metric, _) = EvaluateRows(model, task, rows, batchSize, padId, device, precision);
        return (loss, metric);
    }

    /// <summary><see cref="Evaluate"/> with each row's score (see <see cref="TrainingResult.BestValidationRowScores"/>).</summary>
    private static (double Loss, double Metric, double[] RowScores) EvaluateRows(TextHeadModel model, TaskKind task, IReadOnlyList<TrainingExample> rows, int batchSize,
        int padId, Device device, Precision precision)
    {
        var outputs = BatchInference.Predict(model, model.Body.UsesTokenTypes, rows.Select(r => r.Input).ToList(), batchSize, padId, device, precision);
        double loss = 0, correct = 0;
        var scores = new double[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            float[] o = outputs[i];
            float y = rows[i].Target;
            switch (task)
            {
                case TaskKind.Multiclass:
                    float max = o.Max();
                    double logSum = max + Math.Log(o.Sum(v => Math.Exp(v - max)));
                    loss += logSum - o[(int)y];
                    scores[i] = Array.IndexOf(o, max) == (int)y ? 1 : 0;
                    break;
                case TaskKind.Binary:
                    double z = o[0];
                    loss += Math.Max(z, 0) - z * y + Math.Log(1 + Math.Exp(-Math.Abs(z))); // stable BCE with logits
                    scores[i] = (z > 0 ? 1 : 0) == (int)y ? 1 : 0;
                    break;
                default:
                    double d = o[0] - y;
                    loss += d * d;
                    scores[i] = d * d;
                    break;
            }
            correct += scores[i];
        }
        if (task == TaskKind.Regression)
        {
            double mean = rows.Average(r => (double)r.Target), total = rows.Sum(r => (r.Target - mean) * (r.Target - mean));
            double rSquared = total > 0 ? 1 - loss / total : 0;
            // −squared error × n / total sum of squares: their mean is R² − 1 (the standardisation cancels in the ratio).
            for (int i = 0; i < scores.Length; i++) scores[i] = -scores[i] * rows.Count / (total > 0 ? total : 1);
            return (loss / rows.Count, rSquared, scores);
        }
        return (loss / rows.Count, correct / rows.Count, scores);
    }

    /// <summary>
    /// Batches of row indices. With bucketing, rows are shuffled, cut into pools of 50 batches, each pool sorted by length
    /// and cut into batches, and the batch order shuffled again: little padding, still random.
    /// </summary>
    public static List<int[]> MakeBatches(IReadOnlyList<int> lengths, int batchSize, bool bucketing, Random rng)
    {
        var idx = Enumerable.Range(0, lengths.Count).ToArray();
        rng.Shuffle(idx);
        var batches = new List<int[]>();
        if (!bucketing)
        {
            for (int s = 0; s < idx.Length; s += batchSize) batches.Add(idx.Skip(s).Take(batchSize).ToArray());
            return batches;
        }
        int pool = batchSize * 50;
        for (int p = 0; p < idx.Length; p += pool)
        {
            var sorted = idx.Skip(p).Take(pool).OrderBy(i => lengths[i]).ToArray();
            for (int s = 0; s < sorted.Length; s += batchSize) batches.Add(sorted.Skip(s).Take(batchSize).ToArray());
        }
        var order = batches.ToArray();
        rng.Shuffle(order);
        return order.ToList();
    }

    /// <summary>Linear warm-up to 1, then linear decay to 0 at the last step (<see cref="ScheduledAdamW.Schedule"/>).</summary>
    public static double Schedule(int step, int warmupSteps, int totalSteps) => ScheduledAdamW.Schedule(step, warmupSteps, totalSteps);

    private static Dictionary<string, Tensor> Snapshot(nn.Module model, Dictionary<string, Tensor>? previous)
    {
        if (previous is not null) foreach (var t in previous.Values) t.Dispose();
        using var noGrad = no_grad();
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
    }

    private static void Restore(nn.Module model, Dictionary<string, Tensor> snapshot)
    {
        using var noGrad = no_grad();
        foreach (var (k, v) in model.state_dict()) v.copy_(snapshot[k]);
    }
}
