using Microsoft.ML;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>
/// The trial models of an experiment's output folder (trial-models/trial-ID.zip): each worker keeps only its best, and
/// workers sharing the folder read each other's, so every worker ends with the experiment's best.
/// </summary>
internal sealed class TrialModelFiles
{
    public const string FolderName = "trial-models";

    private readonly string _folder;

    public TrialModelFiles(string outputDir)
    {
        _folder = Path.Combine(outputDir, FolderName);
        Directory.CreateDirectory(_folder);
    }

    public string PathOf(long trialId) => Path.Combine(_folder, $"trial-{trialId}.zip");

    public bool Has(long trialId) => File.Exists(PathOf(trialId));

    public void Save(MLContext ml, ITransformer model, DataViewSchema schema, long trialId) => ml.Model.Save(model, schema, PathOf(trialId));

    public void Delete(long trialId) => File.Delete(PathOf(trialId));

    /// <summary>The best completed trial (any worker) whose model is in this folder, with that model.</summary>
    public (TrialRecord Trial, ITransformer Model)? LoadBest(MLContext ml, IEnumerable<TrialRecord> trials)
    {
        foreach (var t in trials.Where(t => t.Status == TrialStatus.Completed && t.Metric is not null).OrderByDescending(t => t.Metric).ThenBy(t => t.Id))
        {
            try { return (t, ml.Model.Load(PathOf(t.Id), out _)); }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { } // not saved here, or beaten and deleted meanwhile
        }
        return null;
    }
}
