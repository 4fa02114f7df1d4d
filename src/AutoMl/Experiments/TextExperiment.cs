using System.Diagnostics;
using Microsoft.ML;
using MlNetLlm.Estimators.Jobs;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>
/// A Model Builder style experiment over text: classical ML.NET pipelines, embeddings + LightGbm, LSTM (with GloVe),
/// a from-scratch transformer and checkpoint fine-tuning, each with its own tuner, under one time budget, with ASHA
/// pruning of neural trials and every trial written to the store as it happens. Picks the best on the validation
/// metric (never the test rows), then reports the test metrics of that one model.
/// </summary>
public static class TextExperiment
{
    public const string CandidateKey = "Candidate";

    /// <summary>The SQLite trial store in the output folder when <see cref="ExperimentOptions.Store"/> is not given.</summary>
    public const string DefaultStoreFile = "experiment.db";

    /// <summary>
    /// The candidates that apply, in the order of the first round (each gets one trial before the cost-based choice
    /// starts): the two cheap linear baselines, then the pretrained checkpoint's candidates (where a short budget is
    /// best spent), then the rest.
    /// </summary>
    public static IReadOnlyList<Candidate> DefaultCandidates(ExperimentOptions o)
    {
        var list = new List<Candidate> { ClassicalCandidate.Sdca(), ClassicalCandidate.Lbfgs() };
        if (o.CheckpointPath is not null)
        {
            list.Add(NeuralCandidate.FineTune(o.CheckpointPath, o.Precision));
            if (o.Data.TextColumns.Count == 1)
            {
                var embeddings = new SharedEmbeddings(o.CheckpointPath, precision: o.Precision);
                list.Add(EmbeddingCandidate.Sdca(embeddings));
                list.Add(EmbeddingCandidate.LightGbm(embeddings));
            }
        }
        list.Add(ClassicalCandidate.LightGbm());
        list.Add(NeuralCandidate.Lstm(null, o.Precision));
        if (o.Data.GlovePath is { } glove) list.Add(NeuralCandidate.Lstm(glove, o.Precision));
        list.Add(NeuralCandidate.Transformer(o.Precision));
        if (o.Candidates is { } names)
        {
            var unknown = names.Where(n => list.All(c => c.Name != n)).ToList();
            if (unknown.Count > 0)
                throw new ArgumentException($"Unknown candidate(s) {string.Join(", ", unknown)}; available here: {string.Join(", ", list.Select(c => c.Name))}.");
            list = list.Where(c => names.Contains(c.Name)).ToList();
        }
        return list;
    }

    public static ITuner CreateTuner(TunerKind kind, SearchSpace space, int seed, int gridSteps = 5) => kind switch
    {
        TunerKind.Cfo => new CfoTuner(space, seed),
        TunerKind.Random => new RandomSearchTuner(space, seed),
        TunerKind.Grid => new GridSearchTuner(space, gridSteps, seed: seed),
        TunerKind.Tpe => new TpeTuner(space, seed),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, $"ExperimentOptions.Tuner {kind} is not one of {string.Join(", ", Enum.GetNames<TunerKind>())}."),
    };

    public static ExperimentResult Run(MLContext ml, ExperimentOptions o, string outputDir, IReadOnlyList<Candidate>? candidates = null)
    {
        var total = Stopwatch.StartNew();
        using var log = new MlNetLlm.MlNet.ComponentLog(MlNetLlm.MlNet.ComponentLog.EnvironmentOf(ml), "TextExperiment", "Search", o.Logger);
        o = o with { Events = new ExperimentLog(log, o.Events, o.TrainTime) };
        candidates ??= DefaultCandidates(o);
        var (job, search, precisions) = Check(o, outputDir, candidates);
        using var session = ExperimentSession.Open(ml, o, outputDir, candidates, search, precisions);

        // The loop: take the next trial (a requeued one first), run it, record it and keep its model.
        while (session.NextTrial() is { } next)
            session.Run(next.Trial, next.Candidate);

        // Interrupted (Ctrl+C, SIGTERM): the finished trials are in the store; no outputs are written, so a resume
        // (or --max-trials 0) gives the outputs of the whole experiment.
        o.CancellationToken.ThrowIfCancellationRequested();
        var (trials, chosen, model, pick) = session.Pick();
        return ExperimentEvaluation.Evaluate(ml, o, job, search.Train.Count, candidates, trials, chosen, model, Candidate.MetricName(job.Task), session.InputSchema, total,
            pick, session.Deadline);
    }

    /// <summary>Options, the files they name and the data, checked before anything on disk changes (no folder, no store
    /// row, nothing moved aside): the data, its fit/validation split (as training and test rows), each candidate's precision.</summary>
    private static (TextJobData Job, TextJobData Search, Dictionary<string, string?> Precisions) Check(ExperimentOptions o, string outputDir, IReadOnlyList<Candidate> candidates)
    {
        o.Validate(candidates);
        foreach (var (name, path) in new[] { (nameof(o.Data.Dataset), o.Data.Dataset), (nameof(o.Data.TestDataset), o.Data.TestDataset), (nameof(o.Data.GlovePath), o.Data.GlovePath) })
            if (path is not null && ExperimentOutputs.IsOwnOutputPath(outputDir, path))
                throw new ArgumentException($"TextJobOptions.{name} '{path}' is a file the experiment writes in its output folder: move it, or give another output folder.");
        // Each trial records its precision; a precision a candidate cannot run in (Bf16 for the LSTM) is refused here.
        var precisions = candidates.ToDictionary(c => c.Name, c => c.ResolvePrecision(o.Device));
        var job = TextJobData.Load(o.Data);
        var (fit, validation) = job.SplitTrain(o.ValidationFraction, o.Data.Seed);
        foreach (var c in candidates) CreateTuner(o.Tuner, c.Space, o.Data.Seed, o.GridStepsPerDimension); // an unknown tuner is refused here too
        return (job, job.WithRows(fit, validation), precisions);
    }

    /// <summary>A stored trial's parameters without the candidate's name (the share of rows stays: it is the trial's fidelity).</summary>
    internal static ParameterSet Strip(ParameterSet p) => new(p.Where(kv => kv.Key != CandidateKey));
}
