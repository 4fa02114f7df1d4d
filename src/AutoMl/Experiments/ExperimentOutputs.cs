using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>Writes an experiment's results: model.zip, metrics.json, trials.csv and report.html.</summary>
public static class ExperimentOutputs
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // "tfidf+sdca", not "tfidf\u002Bsdca"
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The files an experiment writes into its output folder (besides its default store and trial models).</summary>
    public static readonly IReadOnlyList<string> Files = ["model.zip", "metrics.json", "trials.csv", "report.html"];

    /// <summary>The lock file of an output folder (<see cref="LockFolder"/>); it stays, and is never moved aside.</summary>
    public const string LockFile = ".experiment.lock";

    /// <summary>
    /// Holds <paramref name="outputDir"/> for this run until disposed: exclusively, or <paramref name="shared"/> with
    /// other workers that join the same experiment. A second run on the folder is refused at once instead of both
    /// writing one store and one set of outputs. The lock is the operating system's, so a killed run leaves none.
    /// </summary>
    public static IDisposable LockFolder(string outputDir, bool shared)
    {
        string path = Path.Combine(outputDir, LockFile);
        try
        {
            // .NET locks the file (flock) exclusively for FileShare.None, and shared only for read-only handles.
            return shared
                ? new FileStream(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite)
                : new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new InvalidOperationException(
                $"Output folder '{outputDir}' is in use by another experiment run{(shared ? " that works alone" : "")}: wait for it to end, use another output folder, or set ExperimentOptions.Join on every run to work on one experiment together.");
        }
    }

    /// <summary>
    /// Moves what an earlier experiment wrote into <paramref name="outputDir"/> (its default store with SQLite's side
    /// files, trial-models/, <see cref="Files"/> and their temporary files) into previous-TIME/, and returns that
    /// folder, or null when there was none. Everything else in the folder (data, other files, earlier previous-*)
    /// stays where it is.
    /// </summary>
    public static string? MoveEarlierRunAside(string outputDir)
    {
        var own = new DirectoryInfo(outputDir).EnumerateFileSystemInfos().Where(e => IsOwnOutput(e.Name)).ToList();
        if (own.Count == 0) return null;
        string aside = Path.Combine(outputDir, $"previous-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
        for (int i = 2; Directory.Exists(aside) || File.Exists(aside); i++) aside = Path.Combine(outputDir, $"previous-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{i}");
        Directory.CreateDirectory(aside);
        foreach (var e in own)
        {
            string target = Path.Combine(aside, e.Name);
            if (e is DirectoryInfo d) d.MoveTo(target);
            else File.Move(e.FullName, target);
        }
        return aside;
    }

    /// <summary>True when <paramref name="path"/> is in <paramref name="outputDir"/> under a name an experiment writes
    /// there (or inside its trial-models/): such an input would be moved aside or overwritten.</summary>
    public static bool IsOwnOutputPath(string outputDir, string path)
    {
        string full = Path.GetFullPath(path), folder = Path.GetFullPath(outputDir);
        string? parent = Path.GetDirectoryName(full);
        return parent == folder && IsOwnOutput(Path.GetFileName(full)) || parent == Path.Combine(folder, TrialModelFiles.FolderName);
    }

    private static bool IsOwnOutput(string name)
    {
        string store = TextExperiment.DefaultStoreFile;
        if (name == store || name == TrialModelFiles.FolderName) return true;
        if (name == store + "-wal" || name == store + "-shm" || name == store + "-journal") return true;
        // Files[i], and the temporary ".NAME.PID.tmp" a killed Write leaves.
        return Files.Any(f => name == f || name.StartsWith($".{f}.", StringComparison.Ordinal) && name.EndsWith(".tmp", StringComparison.Ordinal));
    }

    public static void Write(MLContext ml, ExperimentResult r, string outputDir, string title)
    {
        Directory.CreateDirectory(outputDir);
        // Each file is written whole, then renamed into place: workers sharing the folder (--join) may write at once.
        void Replace(string name, Action<string> write)
        {
            string temp = Path.Combine(outputDir, $".{name}.{Environment.ProcessId}.tmp");
            write(temp);
            File.Move(temp, Path.Combine(outputDir, name), overwrite: true);
        }
        Replace("model.zip", path => ml.Model.Save(r.BestModel, r.InputSchema, path));
        var best = r.BestTrial;
        var metrics = new
        {
            candidate = best.Parameters.GetString(TextExperiment.CandidateKey),
            trialId = best.Id,
            worker = best.WorkerId,
            validationMetric = best.Metric,
            metricName = r.MetricName,
            precision = best.Precision,
            parameters = best.Parameters.Where(kv => kv.Key != TextExperiment.CandidateKey).ToDictionary(kv => kv.Key, kv => kv.Value),
            test = r.TestMetrics,
            refit = r.Refit is { } f ? new { rows = f.Rows, seconds = Math.Round(f.Seconds, 1), testBeforeRefit = f.TestMetricsBeforeRefit } : null,
            refitNote = r.RefitNote,
            pick = r.Pick is { } pk ? new
            {
                leader = new { trialId = pk.LeaderTrial, candidate = pk.LeaderCandidate, validationMetric = pk.LeaderMetric },
                chosen = new { trialId = pk.ChosenTrial, candidate = pk.ChosenCandidate, validationMetric = pk.ChosenMetric },
                comparedWith = pk.ComparedWith,
                difference = pk.Comparison?.Difference, interval95 = pk.Comparison is { } c ? new[] { c.Low, c.High } : null, validationRows = pk.Comparison?.Rows,
                reason = pk.Reason,
            } : null,
            trials = r.Trials.Count,
            experimentSeconds = Math.Round(r.TotalSeconds, 1),
        };
        Replace("metrics.json", path => File.WriteAllText(path, JsonSerializer.Serialize(metrics, Json)));
        Replace("trials.csv", path => File.WriteAllText(path, TrialsCsv(r)));
        Replace("report.html", path => File.WriteAllText(path, HtmlReport.Render(ToReport(r, title))));
    }

    public static string TrialsCsv(ExperimentResult r)
    {
        var sb = new StringBuilder("id,candidate,status,metric,seconds,epochs,rows_share,peak_memory_mb,peak_gpu_memory_mb,parameters,error,retries,precision\n");
        foreach (var t in r.Trials)
        {
            string Q(string? s) => s is null ? "" : "\"" + s.Replace("\"", "\"\"") + "\"";
            sb.Append(CultureInfo.InvariantCulture, $"{t.Id},{Q(t.Parameters.GetString(TextExperiment.CandidateKey))},{StatusText(t.Status)},")
              .Append(CultureInfo.InvariantCulture, $"{(t.Metric is { } m && double.IsFinite(m) ? m.ToString("R", CultureInfo.InvariantCulture) : "")},{t.DurationSeconds?.ToString("F2", CultureInfo.InvariantCulture)},{t.EpochsReached},")
              .Append(CultureInfo.InvariantCulture, $"{TrialScheduler.FractionOf(t.Parameters)},")
              .Append(CultureInfo.InvariantCulture, $"{Megabytes(t.PeakMemoryBytes)},{Megabytes(t.PeakGpuMemoryBytes)},")
              .Append(Q(string.Join("; ", t.Parameters.Where(kv => kv.Key != TextExperiment.CandidateKey).Select(kv => $"{kv.Key}={Format(kv.Value)}")))).Append(',')
              .Append(Q(t.Error)).Append(',').Append(Q(string.Join("; ", t.Retries))).Append(',').Append(t.Precision).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>How a trial ended, in the words the CLI, trials.csv and the report all use.</summary>
    public static string StatusText(TrialStatus s) => s == TrialStatus.Stopped ? "stopped (budget)" : s.ToString().ToLowerInvariant();

    private static string Megabytes(long? bytes) => bytes is { } b ? (b / 1048576.0).ToString("F0", CultureInfo.InvariantCulture) : "";

    private static string Format(object v) => v is double d ? d.ToString("G4", CultureInfo.InvariantCulture) : Convert.ToString(v, CultureInfo.InvariantCulture) ?? "";

    public static ReportData ToReport(ExperimentResult r, string title)
    {
        var start = r.Trials.Where(t => t.StartedAt is not null).Select(t => t.StartedAt!.Value).DefaultIfEmpty(DateTimeOffset.UtcNow).Min();
        var trials = r.Trials.Select(t => new ReportTrial(
            (int)t.Id, t.Parameters.GetString(TextExperiment.CandidateKey),
            t.Parameters.Where(kv => kv.Key != TextExperiment.CandidateKey).ToDictionary(kv => kv.Key, kv => Format(kv.Value)),
            StatusText(t.Status), t.Metric is { } m && double.IsFinite(m) ? m : null, t.DurationSeconds ?? 0,
            t.StartedAt is { } s ? (s - start).TotalSeconds : 0, t.Epochs.Where(e => double.IsFinite(e.Metric)).Select(e => (e.Epoch, e.Metric)).ToList(), t.Error, t.Precision)
        {
            RowsShare = TrialScheduler.FractionOf(t.Parameters),
        }).ToList();
        var test = new Dictionary<string, string>();
        void Add(string k, double? v) { if (v is { } x) test[k] = x.ToString("F4", CultureInfo.InvariantCulture); }
        Add("accuracy", r.TestMetrics.Accuracy); Add("macro-F1", r.TestMetrics.MacroF1); Add("log-loss", r.TestMetrics.LogLoss); Add("AUC", r.TestMetrics.Auc);
        Add("R²", r.TestMetrics.RSquared); Add("MAE", r.TestMetrics.Mae);
        test["test rows"] = r.TestMetrics.TestRows.ToString(CultureInfo.InvariantCulture);
        string? refit = r.Refit is not { } f ? null : string.Create(CultureInfo.InvariantCulture,
            $"The winner was then fitted again on all {f.Rows} training rows in {f.Seconds:F1} s: test {TestSummary(f.TestMetricsBeforeRefit)} before the refit, {TestSummary(r.TestMetrics)} after.");
        return new ReportData(title, r.MetricName, trials, (int)r.BestTrial.Id, r.BaselineCandidate, r.Data.Classes.Length > 0 ? r.Data.Classes : null,
            r.ConfusionMatrix, r.TotalSeconds, test, refit ?? r.RefitNote) { PickReason = r.Pick?.Reason };
    }

    private static string TestSummary(MlNetLlm.Estimators.Jobs.TextJobMetrics m) =>
        m.Accuracy is { } a ? string.Create(CultureInfo.InvariantCulture, $"accuracy {a:F4}") : string.Create(CultureInfo.InvariantCulture, $"R² {m.RSquared:F4}");
}
