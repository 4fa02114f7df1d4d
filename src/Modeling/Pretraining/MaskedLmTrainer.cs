using System.Diagnostics;
using System.Text.Json;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Tokenization;
using MlNetLlm.Modeling.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Pretraining;

/// <summary>Where a run stands after an optimizer step (<see cref="Saved"/>: the step was saved; validation numbers come with saves).</summary>
public sealed record MaskedLmProgress(int Step, int TotalSteps, double Loss, double MaskedAccuracy, double LearningRate,
    TimeSpan Elapsed, TimeSpan? Remaining, bool Saved, double? ValidationLoss = null, double? ValidationAccuracy = null);

/// <summary>What a run did: the folder it wrote, its steps, the last logged numbers.</summary>
public sealed record MaskedLmResult(string OutputFolder, string Model, int Steps, int TotalSteps, int StepsThisRun, int Sequences, long Tokens,
    int SkippedTexts, string Precision, double Seconds, IReadOnlyList<PretrainingLogEntry> Log);

/// <summary>
/// Masked-language-model pretraining (BERT's objective) with the optimizer of fine-tuning (<see cref="ScheduledAdamW"/>),
/// the same batching (length buckets, dynamic padding), precision and accumulation. The loop counts optimizer steps,
/// saves every <see cref="MaskedLmOptions.SaveEverySteps"/>, at the end and when cancelled, and can resume from its last
/// save: the batch order, the masks and dropout of each step follow from the seed and the step alone, so a resumed run
/// computes what the uninterrupted run would have.
/// </summary>
internal static class MaskedLmTrainer
{
    private const string Owner = nameof(MaskedLmOptions);

    public static MaskedLmResult Train(MaskedLmOptions options, IReadOnlyList<string> texts, IProgress<MaskedLmProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        options.Validate();
        if (texts.Count == 0) throw new ArgumentException("There are no texts to pretrain on.", nameof(texts));
        string output = Path.GetFullPath(options.OutputFolder);
        var state = PretrainingFolder.Inspect(output, options.Resume, $"{Owner}.OutputFolder", $"{Owner}.Resume");
        if (options.CheckpointPath is { } source && Directory.Exists(source) && Path.GetFullPath(source).TrimEnd('/') == output.TrimEnd('/'))
            throw new ArgumentException($"{Owner}.CheckpointPath and {Owner}.OutputFolder are the same folder '{output}': write the continued model to a new folder.");
        string? checkpoint = options.CheckpointPath is null || options.Resume ? null : CheckpointLocator.Resolve(options.CheckpointPath);
        var device = options.Device.Resolve();
        var precision = PrecisionSupport.Resolve(options.Precision, device, $"{Owner}.Precision");
        var (trainTexts, validationTexts) = PretrainingCorpus.SplitTexts(texts, options.ValidationFraction, options.Seed);

        lock (TrainingLoop.RandomStateLock)
        {
            manual_seed(options.Seed);
            using var built = options.Resume ? PretrainingModel.FromCheckpoint(output, output)
                : checkpoint is not null ? PretrainingModel.FromCheckpoint(checkpoint, options.CheckpointPath!)
                : PretrainingModel.FromScratch(options, trainTexts);
            var tokenizer = built.Tokenizer;
            var masker = new TokenMasker(PretrainingTokens.MaskId(tokenizer, built.TokenizerFiles, built.Model.Config.VocabSize, options.CheckpointPath ?? "the pretraining tokenizer"),
                built.Model.Config.VocabSize, [tokenizer.Special.Start, tokenizer.Special.Separator, tokenizer.Special.Padding, tokenizer.Special.Unknown],
                options.MaskProbability, options.WholeWordMasking ? PretrainingTokens.WordContinuation(tokenizer, $"{Owner}.WholeWordMasking") : null);
            var corpus = PretrainingCorpus.Build(tokenizer, trainTexts, options.MaxLength, masker);
            var validation = validationTexts.Count == 0 ? null : PretrainingCorpus.Build(tokenizer, validationTexts, options.MaxLength, masker);
            if (corpus.Sequences.Count == 0)
                throw new ArgumentException($"None of the {trainTexts.Count} training texts has a token masking could choose (they are empty, or all [UNK]).", nameof(texts));
            int batches = (corpus.Sequences.Count + options.BatchSize - 1) / options.BatchSize;
            int totalSteps = options.Steps ?? (int)Math.Ceiling((double)(options.Epochs ?? 1) * batches / options.GradientAccumulationSteps);
            var identity = options.Identity(totalSteps);
            if (state is not null) CheckResumable(state, identity, corpus, output);

            using var folder = PretrainingFolder.Open(output, $"{Owner}.OutputFolder", newRun: state is null);
            bool failed = true;
            try
            {
                var run = new Run(options, built, masker, corpus, validation, device, precision, folder, identity, totalSteps, state);
                var result = run.Execute(progress, cancellationToken);
                failed = false;
                return result;
            }
            finally
            {
                folder.Close(failed);
            }
        }
    }

    /// <summary>A seed for batch <paramref name="index"/> that is the same in every process (HashCode is randomised per process).</summary>
    private static int Mix(int seed, long index)
    {
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)index + 0x632BE59BD9B4E019UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (int)((z ^ (z >> 31)) & 0x7FFFFFFF);
    }

    private static void CheckResumable(PretrainingState state, SortedDictionary<string, string> identity, PretrainingCorpus corpus, string output)
    {
        foreach (var (key, value) in identity)
            if (state.Options.TryGetValue(key, out var was) && was != value)
                throw new ArgumentException(
                    $"{Owner}.{key} is {value}, but the pretraining run in '{output}' was started with {was}: resume with the options it started with (or start a new run in another {Owner}.OutputFolder).");
        if (state.DataFingerprint != corpus.Fingerprint)
            throw new ArgumentException(
                $"The texts differ from those the pretraining run in '{output}' started on ({corpus.Sequences.Count} sequences now, {state.Sequences} then): resume with the same data.");
    }

    /// <summary>One process's share of a run.</summary>
    private sealed class Run(MaskedLmOptions o, PretrainingModel built, TokenMasker masker, PretrainingCorpus corpus, PretrainingCorpus? validation,
        Device device, PrecisionChoice precision, PretrainingFolder folder, SortedDictionary<string, string> identity, int totalSteps, PretrainingState? resumed)
    {
        private readonly List<PretrainingLogEntry> _log = resumed?.Log.ToList() ?? [];
        private readonly Dictionary<int, List<int[]>> _epochs = new();
        private double _lossSum, _correct, _masked;
        private int _sinceLog;

        public MaskedLmResult Execute(IProgress<MaskedLmProgress>? progress, CancellationToken ct)
        {
            var model = built.Model;
            model.to(device);
            using var optimizer = new ScheduledAdamW(model.TrainableParameters(), o.EffectiveLearningRate, o.WeightDecay, o.MaxGradNorm, totalSteps, o.WarmupRatio);
            int step = resumed?.Step ?? 0, first = step;
            if (resumed is not null)
            {
                using var stream = File.OpenRead(Path.Combine(folder.Path, PretrainingFolder.OptimizerFile));
                optimizer.LoadState(stream, step);
            }
            var clock = Stopwatch.StartNew();
            double before = resumed?.Seconds ?? 0;
            model.train();
            try
            {
                while (step < totalSteps)
                {
                    if (ct.IsCancellationRequested)
                    {
                        if (step > first && _log.LastOrDefault()?.Step != step) Save(optimizer, step, before + clock.Elapsed.TotalSeconds);
                        ct.ThrowIfCancellationRequested();
                    }
                    for (int a = 0; a < o.GradientAccumulationSteps; a++)
                        MicroBatch(model, optimizer, step * o.GradientAccumulationSteps + a, step);
                    optimizer.Step();
                    step++;
                    bool save = step % o.SaveEverySteps == 0 || step == totalSteps;
                    PretrainingLogEntry? entry = null;
                    if (save) entry = Save(optimizer, step, before + clock.Elapsed.TotalSeconds);
                    double elapsed = clock.Elapsed.TotalSeconds;
                    progress?.Report(new MaskedLmProgress(step, totalSteps, entry?.Loss ?? _lossSum / Math.Max(1, _sinceLog), entry?.MaskedAccuracy ?? _correct / Math.Max(1, _masked),
                        optimizer.LearningRate, clock.Elapsed, step == totalSteps ? TimeSpan.Zero : TimeSpan.FromSeconds(elapsed / (step - first) * (totalSteps - step)),
                        save, entry?.ValidationLoss, entry?.ValidationAccuracy));
                }
            }
            finally
            {
                model.eval();
            }
            return new MaskedLmResult(folder.Path, built.Description, step, totalSteps, step - first, corpus.Sequences.Count, corpus.Tokens, corpus.SkippedTexts,
                precision.Name, before + clock.Elapsed.TotalSeconds, _log);
        }

        private void MicroBatch(MaskedLanguageModel model, ScheduledAdamW optimizer, int index, int step)
        {
            int perEpoch = (corpus.Sequences.Count + o.BatchSize - 1) / o.BatchSize;
            int epoch = index / perEpoch;
            if (!_epochs.TryGetValue(epoch, out var order))
            {
                _epochs.Clear();
                _epochs[epoch] = order = TrainingLoop.MakeBatches(corpus.Sequences.Select(s => s.Length).ToList(), o.BatchSize, o.LengthBucketing, new Random(o.Seed * 7919 + epoch + 1));
            }
            var rows = order[index % perEpoch].Select(i => corpus.Sequences[i]).ToList();
            manual_seed(o.Seed * 1_000_003L + index); // dropout of this batch, whichever process runs it
            var masked = masker.Mask(TokenBatch.Pad(rows, built.Tokenizer.Special.Padding), new Random(Mix(o.Seed, index)));
            using var scope = NewDisposeScope();
            MaskedLmBatchResult result;
            using (Autocast.Enter(precision.Value))
                result = model.forward(Input(masked), Labels(masked));
            double loss = optimizer.CheckedLoss(result.Loss, $"step {step + 1}",
                $"Lower {Owner}.LearningRate or raise clipping ({Owner}.MaxGradNorm).");
            MlNetLlm.Modeling.Architectures.TensorOps.DivideBy(result.Loss, o.GradientAccumulationSteps).backward();
            _lossSum += loss / o.GradientAccumulationSteps;
            _correct += result.Correct.item<long>();
            _masked += result.Masked;
            if (index % o.GradientAccumulationSteps == o.GradientAccumulationSteps - 1) _sinceLog++;
        }

        private Architectures.EncoderInput Input(MaskedBatch m)
        {
            long[] shape = [m.Batch.BatchSize, m.Batch.SequenceLength];
            return new Architectures.EncoderInput(tensor(m.MaskedIds, shape, device: device), tensor(m.Batch.AttentionMask, shape, device: device),
                built.Model.Config.TypeVocabSize > 0 ? tensor(m.Batch.TokenTypeIds, shape, device: device) : null);
        }

        private Tensor Labels(MaskedBatch m) => tensor(m.Labels, [m.Batch.BatchSize, m.Batch.SequenceLength], device: device);

        private PretrainingLogEntry Save(ScheduledAdamW optimizer, int step, double seconds)
        {
            var (vLoss, vAccuracy) = validation is null ? ((double?)null, (double?)null) : Validate();
            var entry = new PretrainingLogEntry(step, _lossSum / Math.Max(1, _sinceLog), _correct / Math.Max(1, _masked), optimizer.LearningRate, Math.Round(seconds, 1), vLoss, vAccuracy);
            _log.Add(entry);
            (_lossSum, _correct, _masked, _sinceLog) = (0, 0, 0, 0);
            bool complete = step == totalSteps;
            var state = new PretrainingState
            {
                Step = step, TotalSteps = totalSteps, Complete = complete, Options = identity, DataFingerprint = corpus.Fingerprint,
                Sequences = corpus.Sequences.Count, Precision = precision.Name, Seconds = Math.Round(seconds, 1), Log = _log,
            };
            var files = new Dictionary<string, Action<Stream>>
            {
                ["config.json"] = s => s.Write(built.ConfigJson),
                [CheckpointFiles.SingleFile] = s => SafeTensorsWriter.Write(s, built.Model.CheckpointTensors(), new Dictionary<string, string> { ["format"] = "pt" }),
                [PretrainingFolder.StateFile] = s => JsonSerializer.Serialize(s, state, PretrainingFolder.Json),
            };
            foreach (var (name, bytes) in built.TokenizerFiles) files[name] = s => s.Write(bytes);
            // A complete run has nothing to resume: its optimizer state (twice the weights) is not kept.
            if (!complete) files[PretrainingFolder.OptimizerFile] = optimizer.SaveState;
            folder.Save(files, complete ? [PretrainingFolder.OptimizerFile] : null);
            return entry;
        }

        /// <summary>Masked-LM loss and accuracy on the held-out texts, each batch masked the same way at every save.</summary>
        private (double?, double?) Validate()
        {
            var model = built.Model;
            model.eval();
            double loss = 0, correct = 0, count = 0;
            using (no_grad())
            {
                var order = Enumerable.Range(0, validation!.Sequences.Count).OrderBy(i => validation.Sequences[i].Length).ToList();
                for (int s = 0, b = 0; s < order.Count; s += o.BatchSize, b++)
                {
                    var rows = order.Skip(s).Take(o.BatchSize).Select(i => validation.Sequences[i]).ToList();
                    var masked = masker.Mask(TokenBatch.Pad(rows, built.Tokenizer.Special.Padding), new Random(Mix(o.Seed, -1 - b)));
                    using var scope = NewDisposeScope();
                    using var autocast = Autocast.Enter(precision.Value);
                    var r = model.forward(Input(masked), Labels(masked));
                    loss += r.Loss.item<float>() * r.Masked;
                    correct += r.Correct.item<long>();
                    count += r.Masked;
                }
            }
            model.train();
            return (loss / count, correct / count);
        }
    }
}
