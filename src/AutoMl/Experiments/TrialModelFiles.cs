using Microsoft.ML;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>
/// The trial models of an experiment's output folder (trial-models/trial-ID.zip, with trial-ID.scores: the per-row
/// validation scores the final pick compares): each worker keeps its best trial of each candidate, and workers sharing
/// the folder read each other's, so every worker ends with the experiment's best of every candidate.
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

    /// <summary>Keeps the outcome when it is this worker's best of its candidate so far (the one it beat is deleted);
    /// true when it was kept.</summary>
    public bool Keep(MLContext ml, string candidate, TrialOutcome outcome, DataViewSchema schema, long trialId)
    {
        if (_mine.TryGetValue(candidate, out var held) && held.Metric >= outcome.ValidationMetric) return false;
        ml.Model.Save(outcome.Model, schema, PathOf(trialId));
        using (var w = new BinaryWriter(File.Create(ScoresOf(trialId))))
            foreach (double s in outcome.ValidationScores) w.Write(s);
        if (_mine.TryGetValue(candidate, out var beaten))
        {
            File.Delete(PathOf(beaten.Trial));
            File.Delete(ScoresOf(beaten.Trial));
        }
        _mine[candidate] = (trialId, outcome.ValidationMetric);
        return true;
    }

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
