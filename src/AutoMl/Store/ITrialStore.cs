using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MlNetLlm.AutoMl;

/// <summary>One epoch of a trial: validation metric (NaN when none), training loss if known, seconds the epoch took.</summary>
public sealed record EpochMetric(int Epoch, double Metric, double? Loss = null, double Seconds = 0);

/// <summary>Resources a finished trial used, recorded with its outcome.</summary>
public sealed record TrialResources
{
    /// <summary>Wall-clock seconds the trial ran; null: the store computes it from the start time.</summary>
    public double? DurationSeconds { get; init; }

    /// <summary>Peak process (working-set) memory in bytes.</summary>
    public long? PeakMemoryBytes { get; init; }

    /// <summary>Peak GPU memory in bytes, where a GPU was used.</summary>
    public long? PeakGpuMemoryBytes { get; init; }

    /// <summary>The precision the trial's model computed in ("fp32", "bf16"); null for ML.NET's own learners.</summary>
    public string? Precision { get; init; }
}

/// <summary>An experiment: a name and its settings (search space, tuner, budgets…) as JSON.</summary>
public sealed record ExperimentRecord(string Name, string SettingsJson, DateTimeOffset CreatedAt);

/// <summary>A stored trial, as read back from a store.</summary>
public sealed record TrialRecord
{
    public required long Id { get; init; }
    public required string Experiment { get; init; }
    public required ParameterSet Parameters { get; init; }
    public required TrialStatus Status { get; init; }
    public IReadOnlyList<EpochMetric> Epochs { get; init; } = [];
    /// <summary>Final metric (completed trials; the last epoch's for pruned ones when not given).</summary>
    public double? Metric { get; init; }
    public string? Error { get; init; }
    public double? DurationSeconds { get; init; }
    public long? PeakMemoryBytes { get; init; }
    public long? PeakGpuMemoryBytes { get; init; }
    /// <summary>The precision the trial computed in ("fp32", "bf16"); null for ML.NET's own learners and trials recorded before the column existed.</summary>
    public string? Precision { get; init; }
    /// <summary>The worker that ran (or is running) the trial.</summary>
    public string? WorkerId { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    /// <summary>Last sign of life from the worker running the trial (claim, epoch report or heartbeat).</summary>
    public DateTimeOffset? HeartbeatAt { get; init; }
    /// <summary>Times the trial was claimed (more than 1 when it was rerun after its worker died).</summary>
    public int Attempts { get; init; }
    /// <summary>Notes on retries and reruns, e.g. "retried with batch size 8 after out-of-memory".</summary>
    public IReadOnlyList<string> Retries { get; init; } = [];

    /// <summary>Epochs the trial reached.</summary>
    public int EpochsReached => Epochs.Count == 0 ? 0 : Epochs.Max(e => e.Epoch);

    /// <summary>The trial as a tuner result: completed/pruned/failed with its metric and duration as the cost.</summary>
    public TrialResult ToResult() => new(Parameters, Metric ?? double.NaN, DurationSeconds ?? 0, Status) { Epochs = EpochsReached };
}

/// <summary>
/// Durable record of an experiment's trials, written as they happen. Every call commits before it returns, so
/// killing the process loses nothing already written. Claiming is atomic: several workers (threads, processes or
/// machines, depending on the store) never get the same trial. All writes other than <see cref="AddTrial"/> and
/// <see cref="Fail"/> require the trial to be Running and throw <see cref="TrialStoreException"/> otherwise
/// (e.g. when the trial was requeued by <see cref="Resume"/> meanwhile).
/// </summary>
public interface ITrialStore : IDisposable
{
    /// <summary>Where the store lives, for messages (no password).</summary>
    string Description { get; }

    /// <summary>Creates the experiment, or returns the existing one of that name unchanged (so a resumed run can call
    /// it again).</summary>
    ExperimentRecord CreateExperiment(string name, string settingsJson);

    ExperimentRecord? GetExperiment(string name);

    IReadOnlyList<ExperimentRecord> ListExperiments();

    /// <summary>Adds a Pending trial and returns its id (ids increase in insertion order).</summary>
    long AddTrial(string experiment, ParameterSet parameters);

    /// <summary>Adds a Pending trial unless the experiment already has one (in any state) with the same parameters
    /// (<see cref="ParameterSet.Key"/>), atomically, so workers proposing the same point at once add it once. Returns
    /// the new id, or null when the point was there.</summary>
    long? AddTrialIfNew(string experiment, ParameterSet parameters);

    /// <summary>Atomically claims the oldest Pending trial of the experiment for <paramref name="workerId"/> (it becomes
    /// Running, started now) and returns it, or null when none is pending.</summary>
    TrialRecord? ClaimNext(string experiment, string workerId);

    /// <summary>Claims a specific Pending trial; false when it is not pending (e.g. another worker took it).</summary>
    bool TryStart(long trialId, string workerId);

    /// <summary>Appends an epoch's metrics to a Running trial (and refreshes its heartbeat).</summary>
    void ReportEpoch(long trialId, EpochMetric epoch);

    /// <summary>Refreshes a Running trial's heartbeat (see <see cref="Resume"/>'s staleAfter).</summary>
    void Heartbeat(long trialId);

    /// <summary>Adds a note to the trial's retries (e.g. "retried with batch size 8 after out-of-memory"); optionally
    /// replaces its parameters with those actually used.</summary>
    void AddRetry(long trialId, string note, ParameterSet? newParameters = null);

    void Complete(long trialId, double metric, TrialResources? resources = null);

    /// <summary>Marks a Running trial pruned; its metric is <paramref name="metric"/> or, when null, its last epoch's.</summary>
    void Prune(long trialId, double? metric = null, TrialResources? resources = null);

    /// <summary>Marks a Pending or Running trial failed with <paramref name="error"/>.</summary>
    void Fail(long trialId, string error, TrialResources? resources = null);

    /// <summary>Marks a Running trial stopped (by the time budget, before any validated result); <paramref name="reason"/> says why.</summary>
    void Stop(long trialId, string reason, TrialResources? resources = null);

    TrialRecord? GetTrial(long trialId);

    /// <summary>The experiment's trials in id order.</summary>
    IReadOnlyList<TrialRecord> ListTrials(string experiment);

    /// <summary>
    /// Puts Running trials back to Pending so they are rerun (their epoch metrics are cleared, a note is added;
    /// completed, pruned and failed trials are untouched). Which ones: all of the experiment's (default: the usual
    /// single-worker restart), only those of <paramref name="workerId"/> (a restarted worker with a stable id), and/or
    /// only those whose heartbeat is older than <paramref name="staleAfter"/> (workers on other machines that died).
    /// Returns the number requeued.
    /// </summary>
    int Resume(string experiment, string? workerId = null, TimeSpan? staleAfter = null);
}

/// <summary>A trial store operation failed: the store is unreachable or not a trial store, or the operation is not
/// allowed in the trial's state.</summary>
public sealed class TrialStoreException : Exception
{
    public TrialStoreException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>JSON helpers shared by the stores.</summary>
internal static class StoreJson
{
    public static string Epoch(EpochMetric e)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteNumber("epoch", e.Epoch);
            w.WritePropertyName("metric");
            WriteNumberOrNull(w, e.Metric);
            w.WritePropertyName("loss");
            WriteNumberOrNull(w, e.Loss);
            w.WritePropertyName("seconds");
            WriteNumberOrNull(w, e.Seconds);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteNumberOrNull(Utf8JsonWriter w, double? v)
    {
        if (v is double d && double.IsFinite(d)) w.WriteRawValue(ParameterSet.FormatDouble(d));
        else w.WriteNullValue();
    }

    public static IReadOnlyList<EpochMetric> Epochs(string? json)
    {
        if (string.IsNullOrEmpty(json)) return [];
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.EnumerateArray().Select(e => new EpochMetric(
            e.GetProperty("epoch").GetInt32(),
            Number(e, "metric") ?? double.NaN,
            Number(e, "loss"),
            Number(e, "seconds") ?? 0)).ToList();
    }

    private static double? Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    /// <summary>True when a row of the reader's first column (parameters as JSON) is the point <paramref name="p"/>.</summary>
    public static bool AnySameParameters(System.Data.Common.DbDataReader r, ParameterSet p)
    {
        while (r.Read())
            if (ParameterSet.FromJson(r.GetString(0)).Key == p.Key) return true;
        return false;
    }

    public static string String(string s) => JsonSerializer.Serialize(s);

    public static IReadOnlyList<string> Strings(string? json)
    {
        if (string.IsNullOrEmpty(json)) return [];
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.EnumerateArray().Select(e => e.GetString() ?? "").ToList();
    }

    public static string Status(TrialStatus s) => s switch
    {
        TrialStatus.Pending => "pending",
        TrialStatus.Running => "running",
        TrialStatus.Completed => "completed",
        TrialStatus.Pruned => "pruned",
        TrialStatus.Failed => "failed",
        TrialStatus.Stopped => "stopped",
        _ => throw new ArgumentOutOfRangeException(nameof(s), s, null),
    };

    public static TrialStatus ParseStatus(string s) => s switch
    {
        "pending" => TrialStatus.Pending,
        "running" => TrialStatus.Running,
        "completed" => TrialStatus.Completed,
        "pruned" => TrialStatus.Pruned,
        "failed" => TrialStatus.Failed,
        "stopped" => TrialStatus.Stopped,
        _ => throw new TrialStoreException($"Unknown trial status '{s}' in the store."),
    };

    public static string Timestamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static DateTimeOffset ParseTimestamp(string s) =>
        DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
