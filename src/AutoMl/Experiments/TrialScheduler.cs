using MlNetLlm.AutoMl.Scheduling;

namespace MlNetLlm.AutoMl.Experiments;

/// <summary>A trial the scheduler chose: the candidate, the parameters as the store keeps them (with the candidate's
/// name and, for fine-tuning, the share of training rows), what its first result should cost, and why it was chosen.</summary>
internal sealed record PlannedTrial(Candidate Candidate, ParameterSet Parameters, double? FirstResultSeconds, string Why);

/// <summary>
/// Decides which trial runs next, within the time left. Every candidate gets one trial first (in the order of
/// <see cref="TextExperiment.DefaultCandidates"/>), then candidates are drawn by estimated cost for improvement
/// (<see cref="CandidateChooser"/>). A trial whose first result (a neural trial's first validated epoch, a classical
/// trial's fit) would not fit in the time left is not started. Fine-tuning starts with the portfolio's best-known
/// configuration on all rows, so a short budget still ends with one fine-tuned model; its later configurations climb a
/// <see cref="FidelityLadder"/> from a quarter of the rows. Learns from every finished trial of the experiment, this
/// worker's and others'.
/// </summary>
internal sealed class TrialScheduler
{
    public const string DataFractionKey = "DataFraction";
    public const string FineTuneName = "fine-tune";

    private readonly ExperimentOptions _o;
    private readonly IReadOnlyList<Candidate> _candidates;
    private readonly int _fitRows, _validationRows;
    private readonly Dictionary<string, ITuner> _tuners;
    private readonly Dictionary<string, IPruner> _pruners = [];
    private readonly CandidateChooser _chooser;
    private readonly HashSet<long> _absorbed = [];
    private readonly HashSet<string> _reportedConfigs = new(StringComparer.Ordinal);
    private readonly Queue<Candidate> _firstRound;
    private readonly HashSet<string> _exhausted = [];
    private readonly Dictionary<string, int> _duplicates = [];
    private readonly Dictionary<string, string> _lastError = [];
    private bool _fineTuneStarted;
    private bool _embeddingsComputed;

    /// <summary>A trial whose cost nothing measured yet tells is not started with less than this left: it would most
    /// likely end past the budget (a frozen-embeddings trial started with 4 s left took 42 s).</summary>
    public const double UnknownCostFloorSeconds = 15;

    public TrialScheduler(ExperimentOptions o, IReadOnlyList<Candidate> candidates, int fitRows, int validationRows, IReadOnlyList<TrialRecord> existing)
    {
        _o = o;
        _candidates = candidates;
        _fitRows = fitRows;
        _validationRows = validationRows;
        _chooser = new CandidateChooser(o.Data.Seed);
        _tuners = candidates.ToDictionary(c => c.Name, c => Tuner(o, c));
        _firstRound = new Queue<Candidate>(candidates.Where(c => !existing.Any(t => CandidateOf(t) == c.Name)));
        _fineTuneStarted = existing.Any(t => CandidateOf(t) == FineTuneName);
        Absorb(existing);
    }

    public TrialCostModel Costs { get; } = new();
    public FidelityLadder Ladder { get; } = FidelityLadder.Default();

    /// <summary>Candidates whose trials failed twice in a row with the same error (bad data for them, a missing
    /// file): they get no more trials.</summary>
    public Dictionary<string, string> Retired { get; } = [];

    public bool AllRetired => _candidates.All(c => Retired.ContainsKey(c.Name));

    private static ITuner Tuner(ExperimentOptions o, Candidate c)
    {
        var inner = TextExperiment.CreateTuner(o.Tuner, c.Space, o.Data.Seed, o.GridStepsPerDimension);
        return c.Portfolio.Count == 0 ? inner : new PortfolioTuner(inner, c.Portfolio);
    }

    private static string CandidateOf(TrialRecord t) => t.Parameters.GetString(TextExperiment.CandidateKey);

    /// <summary>The share of training rows a trial trains on (1 unless the ladder gave it less).</summary>
    public static double FractionOf(ParameterSet p) => p.ContainsKey(DataFractionKey) ? p.GetDouble(DataFractionKey) : 1.0;

    /// <summary>The parameters a candidate sees: without the experiment's own keys.</summary>
    public static ParameterSet CandidateParameters(ParameterSet p) => new(p.Where(kv => kv.Key is not (TextExperiment.CandidateKey or DataFractionKey)));

    /// <summary>
    /// One ASHA per candidate, epoch budget and share of rows: the learning rate decays over the planned epochs, so
    /// epoch 1 of a 3-epoch trial is not comparable with the last epoch of a 1-epoch trial, nor a quarter of the rows
    /// with all of them.
    /// </summary>
    public IPruner PrunerFor(string candidate, ParameterSet p)
    {
        if (!_o.Pruning || _candidates.First(c => c.Name == candidate).IsClassical) return NoPruner.Instance;
        string key = $"{candidate}|{(p.ContainsKey(ParameterNames.Epochs) ? p.GetInt(ParameterNames.Epochs) : 0)}|{FractionOf(p)}";
        return _pruners.TryGetValue(key, out var pruner) ? pruner : _pruners[key] = new AshaPruner();
    }

    /// <summary>Learns from finished trials not seen yet: tuners (a configuration once, at the share of rows it was
    /// proposed at), pruners, the candidate chooser, the cost model and the fine-tuning ladder.</summary>
    public void Absorb(IEnumerable<TrialRecord> records)
    {
        foreach (var t in records.Where(t => t.Status is TrialStatus.Completed or TrialStatus.Pruned or TrialStatus.Failed or TrialStatus.Stopped))
        {
            if (!_absorbed.Add(t.Id)) continue;
            string name = CandidateOf(t);
            if (!_tuners.TryGetValue(name, out var tuner)) continue;
            var config = CandidateParameters(t.Parameters);
            if (_reportedConfigs.Add($"{name}|{config.Key}")) tuner.Report(t.ToResult() with { Parameters = config });
            foreach (var e in t.Epochs) PrunerFor(name, t.Parameters).Record(t.Id, e.Epoch, e.Metric);
            _chooser.Record(name, t.DurationSeconds ?? 0, t.Status == TrialStatus.Completed ? t.Metric ?? double.NaN : double.NaN);
            if (t.Status == TrialStatus.Completed && _candidates.FirstOrDefault(c => c.Name == name) is EmbeddingCandidate) _embeddingsComputed = true;
            double fraction = FractionOf(t.Parameters);
            int rows = (int)Math.Round(_fitRows * fraction);
            if (config.ContainsKey(ParameterNames.MaxLength))
                foreach (var e in t.Epochs.Where(e => e.Seconds > 0))
                    Costs.RecordEpoch(name, rows + (int)(TrialCostModel.ValidationShare * _validationRows), config.GetInt(ParameterNames.MaxLength), e.Seconds);
            else if (t.Status == TrialStatus.Completed && t.DurationSeconds is { } d)
                Costs.RecordTrial(name, d, TrialCostModel.Work(config));
            if (name == FineTuneName)
            {
                _configs.TryAdd(config.Key, config);
                Ladder.Record(config.Key, Ladder.RungOf(fraction), t.Status == TrialStatus.Completed ? t.Metric ?? double.NaN : double.NaN);
            }
        }
    }

    /// <summary>A trial proposed by the scheduler was already in the store (another worker's): a tuner that keeps
    /// proposing known points has nothing new left.</summary>
    public void Duplicate(string candidate)
    {
        if ((_duplicates[candidate] = _duplicates.GetValueOrDefault(candidate) + 1) >= 50) _exhausted.Add(candidate);
    }

    /// <summary>Records how a trial ended: two failures in a row with the same error retire the candidate.</summary>
    public void Ended(string candidate, TrialRecord? ended)
    {
        _duplicates[candidate] = 0;
        if (ended is { Status: TrialStatus.Failed, Error: { } error })
        {
            if (_lastError.TryGetValue(candidate, out var previous) && previous == error) Retired[candidate] = error;
            _lastError[candidate] = error;
        }
        else _lastError.Remove(candidate);
        if (Retired.ContainsKey(candidate)) _exhausted.Add(candidate);
    }

    /// <summary>The next trial that fits in <paramref name="remainingSeconds"/>, or null when nothing does (or every
    /// tuner has run out of points).</summary>
    public PlannedTrial? Next(IReadOnlyList<TrialRecord> known, double remainingSeconds)
    {
        var skipped = new HashSet<string>(_exhausted);
        // Fine-tuning started but the budget stopped it before a result: it goes again first, on as many rows as fit.
        if (_fineTuneStarted && !Ladder.HasAnyResult && !_exhausted.Contains(FineTuneName) && _candidates.FirstOrDefault(c => c.Name == FineTuneName) is { } ft
            && PlanFineTuneRetry(ft, remainingSeconds, known) is { } retry)
            return retry;
        for (int attempt = 0; attempt < 2 * _candidates.Count + 2; attempt++)
        {
            while (_firstRound.TryPeek(out var next) && (known.Any(t => CandidateOf(t) == next.Name) || skipped.Contains(next.Name)))
                _firstRound.Dequeue(); // another worker started it meanwhile, or it cannot run
            string? chosen = _firstRound.Count > 0 ? _firstRound.Dequeue().Name : _chooser.Choose(_candidates.Select(x => x.Name).Where(n => !skipped.Contains(n)).ToList());
            if (_candidates.FirstOrDefault(c => c.Name == chosen) is not { } candidate) return null;
            var plan = candidate.Name == FineTuneName ? PlanFineTune(candidate, remainingSeconds) : Plan(candidate);
            if (plan is null)
            {
                skipped.Add(candidate.Name);
                continue;
            }
            if (plan.FirstResultSeconds is { } cost ? cost > remainingSeconds : remainingSeconds < UnknownCostFloorSeconds)
            {
                skipped.Add(candidate.Name); // would not reach its first result in time: not started
                continue;
            }
            if (candidate.Name == FineTuneName) _fineTuneStarted = true;
            return plan;
        }
        return null;
    }

    private PlannedTrial? Plan(Candidate candidate)
    {
        var p = _tuners[candidate.Name].Propose();
        if (p is null)
        {
            _exhausted.Add(candidate.Name);
            return null;
        }
        int? length = p.ContainsKey(ParameterNames.MaxLength) ? p.GetInt(ParameterNames.MaxLength) : null;
        double? cost = Costs.FirstResultSeconds(candidate.Name, _fitRows, _validationRows, length, TrialCostModel.Work(p));
        // Frozen embeddings: the first such trial encodes every training row once, forward only, with the encoder whose
        // cost fine-tuning has measured (later ones reuse the vectors).
        if (cost is null && candidate is EmbeddingCandidate e && !_embeddingsComputed)
            cost = Costs.EpochSeconds(FineTuneName, 0, _fitRows + _validationRows, e.MaxLength);
        return new PlannedTrial(candidate, p.With(TextExperiment.CandidateKey, candidate.Name), cost, _firstRound.Contains(candidate) ? "first round" : "chosen by cost for improvement");
    }

    /// <summary>
    /// Fine-tuning: the first trial is the portfolio's first configuration on all rows. Then a configuration that may
    /// climb the ladder climbs, where the climb fits; else a new configuration starts on a quarter of the rows.
    /// </summary>
    private PlannedTrial? PlanFineTune(Candidate candidate, double remaining)
    {
        var tuner = _tuners[candidate.Name];
        ParameterSet? config;
        double fraction;
        string why;
        if (!_fineTuneStarted)
        {
            (config, fraction, why) = (tuner.Propose(), 1.0, "warm start: the portfolio's first configuration on all rows");
        }
        else if (Ladder.Promotions().FirstOrDefault(pr => WholeTrialSeconds(candidate, ConfigOf(pr.Config), Ladder.Fractions[pr.ToRung]) is not { } s || s <= remaining)
                 is { Config: not null } promotion)
        {
            (config, fraction, why) = (ConfigOf(promotion.Config), Ladder.Fractions[promotion.ToRung], $"climbs to {Ladder.Fractions[promotion.ToRung]:P0} of the rows");
        }
        else
        {
            (config, fraction, why) = (tuner.Propose(), Ladder.Fractions[0], $"new configuration on {Ladder.Fractions[0]:P0} of the rows");
        }
        if (config is null)
        {
            _exhausted.Add(candidate.Name);
            return null;
        }
        var p = config.With(TextExperiment.CandidateKey, candidate.Name).With(DataFractionKey, fraction);
        return new PlannedTrial(candidate, p, Costs.FirstResultSeconds(candidate.Name, (int)Math.Round(_fitRows * fraction), _validationRows, config.GetInt(ParameterNames.MaxLength)), why);
    }

    private readonly Dictionary<string, ParameterSet> _configs = new(StringComparer.Ordinal);

    private ParameterSet ConfigOf(string key) => _configs.TryGetValue(key, out var p) ? p : throw new InvalidOperationException($"Unknown fine-tuning configuration {key}.");

    private double? WholeTrialSeconds(Candidate candidate, ParameterSet config, double fraction) =>
        Costs.TrialSeconds(candidate.Name, (int)Math.Round(_fitRows * fraction), _validationRows, config.GetInt(ParameterNames.MaxLength), config.GetInt(ParameterNames.Epochs));

    /// <summary>The warm-start configuration again, on the largest share of rows whose first epoch fits in the time left
    /// (its cost is known from the stopped trial's batches), unless that very trial is already in the store.</summary>
    private PlannedTrial? PlanFineTuneRetry(Candidate ft, double remaining, IReadOnlyList<TrialRecord> known)
    {
        var first = ft.Portfolio.FirstOrDefault() ?? ft.Space.LowCost();
        foreach (double fraction in Ladder.Fractions.Reverse())
        {
            var p = first.With(TextExperiment.CandidateKey, FineTuneName).With(DataFractionKey, fraction);
            if (known.Any(t => t.Parameters.Key == p.Key)) continue;
            double? cost = Costs.FirstResultSeconds(FineTuneName, (int)Math.Round(_fitRows * fraction), _validationRows, first.GetInt(ParameterNames.MaxLength));
            if (cost is { } c && c <= remaining)
                return new PlannedTrial(ft, p, cost, $"fine-tuning again on {fraction:P0} of the rows: the budget stopped it before a result");
        }
        return null;
    }
}
