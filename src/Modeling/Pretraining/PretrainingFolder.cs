using System.Text.Json;
using System.Text.Json.Serialization;

namespace MlNetLlm.Modeling.Pretraining;

/// <summary>One line of a run's history: the mean training loss and masked-token accuracy since the previous line.</summary>
public sealed record PretrainingLogEntry(int Step, double Loss, double MaskedAccuracy, double LearningRate, double Seconds,
    double? ValidationLoss = null, double? ValidationAccuracy = null);

/// <summary>pretraining/trainer_state.json: where a run stands and what it was started with.</summary>
internal sealed record PretrainingState
{
    public int Format { get; init; } = 1;
    public required int Step { get; init; }
    public required int TotalSteps { get; init; }
    public required bool Complete { get; init; }
    /// <summary>What decides the run's numbers (<see cref="MaskedLmOptions"/> property → value); a resume must match.</summary>
    public required SortedDictionary<string, string> Options { get; init; }
    public required string DataFingerprint { get; init; }
    public required int Sequences { get; init; }
    public required string Precision { get; init; }
    /// <summary>Training seconds over every process that worked on the run.</summary>
    public required double Seconds { get; init; }
    public required List<PretrainingLogEntry> Log { get; init; }
}

/// <summary>
/// The output folder of a pretraining run, written so that a killed process never leaves it half-saved: every save
/// writes all its files into <c>.save-tmp/</c>, renames that to <c>.save-ready/</c> (the commit point), then moves
/// the files into place. A save found in <c>.save-ready/</c> when the folder is next opened is finished first; one
/// in <c>.save-tmp/</c> was never committed and is dropped. The folder is locked (by the operating system, so a
/// killed run leaves no lock) for as long as a run holds it.
/// </summary>
internal sealed class PretrainingFolder : IDisposable
{
    public const string StateFolder = "pretraining";
    public const string StateFile = StateFolder + "/trainer_state.json";
    public const string OptimizerFile = StateFolder + "/optimizer.bin";
    private const string Tmp = ".save-tmp", Ready = ".save-ready", LockFile = StateFolder + "/.lock";

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private readonly FileStream _lock;
    private readonly bool _created, _newRun;

    private PretrainingFolder(string path, FileStream @lock, bool created, bool newRun)
    {
        Path = path;
        _lock = @lock;
        _created = created;
        _newRun = newRun;
    }

    public string Path { get; }
    /// <summary>True once this run has committed a save.</summary>
    public bool Saved { get; private set; }

    /// <summary>
    /// What a run may find in <paramref name="folder"/>, read without changing anything: null for a new run (the
    /// folder absent or empty), the state to continue for <paramref name="resume"/>. Anything else is an error naming
    /// <paramref name="option"/> (the output folder option) or <paramref name="resumeOption"/>.
    /// </summary>
    public static PretrainingState? Inspect(string folder, bool resume, string option, string resumeOption)
    {
        if (File.Exists(folder)) throw new ArgumentException($"{option} '{folder}' is a file: give a folder for the pretrained model.");
        bool exists = Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any();
        string? statePath = new[] { System.IO.Path.Combine(folder, Ready, StateFile), System.IO.Path.Combine(folder, StateFile) }.FirstOrDefault(File.Exists);
        var state = statePath is null ? null : Read(statePath);
        if (!resume)
        {
            if (state is not null)
                throw new ArgumentException($"{option} '{folder}' holds a pretraining run at step {state.Step} of {state.TotalSteps}{(state.Complete ? " (complete)" : "")}: continue it with {resumeOption}, or choose another {option}.");
            if (exists) throw new ArgumentException($"{option} '{folder}' is not empty: give a new or empty folder, so nothing in it is overwritten.");
            return null;
        }
        if (state is null)
            throw new ArgumentException($"{resumeOption} is set, but {option} '{folder}' holds no pretraining run to continue ({StateFile} is missing).");
        if (state.Complete)
            throw new ArgumentException($"The pretraining run in {option} '{folder}' is complete ({state.Step} of {state.TotalSteps} steps): there is nothing to resume. Use it as a checkpoint, or start a new run into another folder.");
        return state;
    }

    /// <summary>Creates (if needed) and locks the folder, and finishes a save a killed run had committed.
    /// <paramref name="newRun"/>: nothing is there yet (<see cref="Inspect"/> returned null).</summary>
    public static PretrainingFolder Open(string folder, string option, bool newRun)
    {
        bool created = !Directory.Exists(folder);
        Directory.CreateDirectory(System.IO.Path.Combine(folder, StateFolder));
        FileStream lockStream;
        try
        {
            lockStream = new FileStream(System.IO.Path.Combine(folder, LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new InvalidOperationException($"{option} '{folder}' is in use by another pretraining run: wait for it to end, or use another folder.");
        }
        var result = new PretrainingFolder(folder, lockStream, created, newRun);
        result.RollForward();
        string tmp = System.IO.Path.Combine(folder, Tmp);
        if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        return result;
    }

    public static PretrainingState Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<PretrainingState>(File.ReadAllBytes(path), Json) ?? throw new InvalidDataException($"'{path}' is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a pretraining state file: {e.Message}", e);
        }
    }

    /// <summary>Writes every file (path relative to the folder → writer) as one save; <paramref name="delete"/> lists
    /// files to remove once it is in place.</summary>
    public void Save(IReadOnlyDictionary<string, Action<Stream>> files, IEnumerable<string>? delete = null)
    {
        string tmp = System.IO.Path.Combine(Path, Tmp), ready = System.IO.Path.Combine(Path, Ready);
        if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        foreach (var (name, write) in files)
        {
            string target = System.IO.Path.Combine(tmp, name);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
            using (var stream = new FileStream(target, FileMode.CreateNew, FileAccess.Write))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
        }
        Directory.Move(tmp, ready);
        RollForward();
        foreach (var name in delete ?? [])
        {
            string path = System.IO.Path.Combine(Path, name);
            if (File.Exists(path)) File.Delete(path);
        }
        Saved = true;
    }

    private void RollForward()
    {
        string ready = System.IO.Path.Combine(Path, Ready);
        if (!Directory.Exists(ready)) return;
        foreach (var file in Directory.EnumerateFiles(ready, "*", SearchOption.AllDirectories).ToList())
        {
            string target = System.IO.Path.Combine(Path, System.IO.Path.GetRelativePath(ready, file));
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
            File.Move(file, target, overwrite: true);
        }
        Directory.Delete(ready, recursive: true);
    }

    /// <summary>Releases the folder; a new run that failed before its first save removes what it created.</summary>
    public void Close(bool failed)
    {
        _lock.Dispose();
        if (!failed || Saved || !_newRun) return;
        try
        {
            if (_created) Directory.Delete(Path, recursive: true);
            else Directory.Delete(System.IO.Path.Combine(Path, StateFolder), recursive: true);
        }
        catch (IOException) { } // best effort: the run's error is what matters
    }

    public void Dispose() => _lock.Dispose();
}
