namespace MlNetLlm.AutoMl.Experiments;

/// <summary>What identifies an experiment in its store, so a resumed or joined run continues the same one: its
/// settings and a content hash of its data.</summary>
internal static class ExperimentIdentity
{
    /// <summary>The settings recorded with the experiment (budgets are recorded but may differ per run).</summary>
    /// <param name="runId">Identifies the run that creates the experiment: a run that finds another's id did not create
    /// it (the store keeps the first settings written), so it continues it only when asked to.</param>
    public static string Settings(ExperimentOptions o, IEnumerable<string> candidates, string runId) => System.Text.Json.JsonSerializer.Serialize(new
    {
        o.Data.Dataset, o.Data.LabelColumn, o.Data.TextColumns, Tuner = o.Tuner.ToString().ToLowerInvariant(), Candidates = candidates, TrainTimeSeconds = o.TrainTime.TotalSeconds, o.MaxTrials, o.Data.Seed,
        DataSha256 = ContentHash(o.Data.Dataset, o.Data.TestDataset), RunId = runId, Precision = o.Precision.ToString(),
    });

    /// <summary>The id of the run that created the experiment (null for experiments recorded before it existed).</summary>
    public static string? RunId(string settingsJson)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(settingsJson);
        return doc.RootElement.TryGetProperty("RunId", out var id) ? id.GetString() : null;
    }

    /// <summary>Settings that must match for a resumed or joined experiment (budgets may differ per run).</summary>
    public static List<string> Differences(string recordedJson, string currentJson)
    {
        using var recorded = System.Text.Json.JsonDocument.Parse(recordedJson);
        using var current = System.Text.Json.JsonDocument.Parse(currentJson);
        var diff = new List<string>();
        foreach (var name in new[] { "Dataset", "LabelColumn", "TextColumns", "Tuner", "Candidates", "Seed" })
        {
            string was = recorded.RootElement.TryGetProperty(name, out var r) ? r.GetRawText() : "null", now = current.RootElement.GetProperty(name).GetRawText();
            if (was != now) diff.Add($"{name} {was} then, {now} now");
        }
        // Trials of one experiment compare in one precision. (Experiments recorded before the field have none to
        // compare; their trials ran in fp32 and record no precision.)
        if (recorded.RootElement.TryGetProperty("Precision", out var p) && p.GetString() is { } before && before != current.RootElement.GetProperty("Precision").GetString())
            diff.Add($"Precision \"{before}\" then, \"{current.RootElement.GetProperty("Precision").GetString()}\" now");
        // Same path, other rows: trials scored on different data must not be mixed. (Experiments recorded before the
        // hash existed have none to compare.)
        if (recorded.RootElement.TryGetProperty("DataSha256", out var h) && h.GetString() is { } then && then != current.RootElement.GetProperty("DataSha256").GetString())
            diff.Add($"the content of data file {current.RootElement.GetProperty("Dataset").GetRawText()} has changed since the experiment started (SHA-256 {then[..12]}... then, {current.RootElement.GetProperty("DataSha256").GetString()![..12]}... now)");
        return diff;
    }

    /// <summary>SHA-256 over the data file (and the test file, when given).</summary>
    public static string ContentHash(string dataset, string? testDataset)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var path in new[] { dataset, testDataset }.Where(p => p is not null && File.Exists(p)))
        {
            using var fs = File.OpenRead(path!);
            var buffer = new byte[1 << 16];
            int n;
            while ((n = fs.Read(buffer)) > 0) sha.AppendData(buffer, 0, n);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
