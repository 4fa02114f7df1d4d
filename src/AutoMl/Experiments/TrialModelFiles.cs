using Microsoft.ML;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>
/// The trial models of an experiment's output folder (trial-models/trial-ID.zip) and every trial's per-row validation
/// scores (trial-ID.scores, which the final pick compares): each worker keeps the model of its best trial of each
/// candidate, and workers sharing the folder read each other's, so every worker ends with the experiment's best of every
/// candidate.
/// </summary>
internal sealed class TrialModelFiles
{
    public const string FolderName = "trial-models";

    private readonly string _folder;
    private readonly Dictionary<string, (long Trial, double Metric)> _mine = new(StringComparer.Ordinal);

    public TrialModelFiles(string outputDir)
    {
        _folder = Path.Combine(outputDir, FolderName);
        Directory.CreateDirectory(_folder);
    }

    public string PathOf(long trialId) => Path.Combine(_folder, $"trial-{trialId}.zip");

    private string ScoresOf(long trialId) => Path.Combine(_folder, $"trial-{trialId}.scores");

    public bool Has(long trialId) => File.Exists(PathOf(trialId));

    /// <summary>Keeps the outcome's per-row validation scores (every trial's: the final pick corrects each candidate's
    /// best for the number of its trials) and its model when it is this worker's best of its candidate so far (the model
    /// it beat is deleted); true when the model was kept.</summary>
    public bool Keep(MLContext ml, string candidate, TrialOutcome outcome, DataViewSchema schema, long trialId)
    {
        using (var w = new BinaryWriter(File.Create(ScoresOf(trialId))))
            foreach (double s in outcome.ValidationScores) w.Write(s);
        if (_mine.TryGetValue(candidate, out var held) && held.Metric >= outcome.ValidationMetric) return false;
        ml.Model.Save(outcome.Model, schema, PathOf(trialId));
        if (_mine.TryGetValue(candidate, out var beaten))
            File.Delete(PathOf(beaten.Trial));
        _mine[candidate] = (trialId, outcome.ValidationMetric);
        return true;
    }

    /// <summary>Per candidate, the per-row validation scores of each of its completed trials (any worker) found here.</summary>
    public IReadOnlyDictionary<string, List<double[]>> ScoresPerCandidate(IEnumerable<TrialRecord> trials) =>
        trials.Where(t => t.Status == TrialStatus.Completed && t.Metric is not null)
            .Select(t => (Candidate: t.Parameters.GetString(TextExperiment.CandidateKey), Scores: Scores(t.Id)))
            .Where(x => x.Scores is { Length: > 0 })
            .GroupBy(x => x.Candidate)
            .ToDictionary(g => g.Key, g => g.Select(x => x.Scores!).ToList());

    /// <summary>The per-row validation scores saved with a trial's model, or null.</summary>
    public double[]? Scores(long trialId)
    {
        if (!File.Exists(ScoresOf(trialId))) return null;
        var bytes = File.ReadAllBytes(ScoresOf(trialId));
        var scores = new double[bytes.Length / sizeof(double)];
        Buffer.BlockCopy(bytes, 0, scores, 0, scores.Length * sizeof(double));
        return scores;
    }

    /// <summary>For each candidate, its best completed trial (any worker) whose model and scores are in this folder.</summary>
    public IReadOnlyList<(TrialRecord Trial, double[] Scores)> BestPerCandidate(IEnumerable<TrialRecord> trials) =>
        trials.Where(t => t.Status == TrialStatus.Completed && t.Metric is not null && Has(t.Id))
            .GroupBy(t => t.Parameters.GetString(TextExperiment.CandidateKey))
            .Select(g => g.OrderByDescending(t => t.Metric).ThenBy(t => t.Id).Select(t => (Trial: t, Scores: Scores(t.Id))).FirstOrDefault(x => x.Scores is not null))
            .Where(x => x.Trial is not null)
            .Select(x => (x.Trial, x.Scores!))
            .ToList();

    public ITransformer Load(MLContext ml, long trialId) => ml.Model.Load(PathOf(trialId), out _);
}
