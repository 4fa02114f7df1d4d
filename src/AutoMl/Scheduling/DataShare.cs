namespace MlNetLlm.AutoMl.Scheduling;

/// <summary>
/// The training rows a lower rung of the ladder trains on: a seeded, stratified share of them, nested so that a
/// quarter's rows are also in the half (a configuration that climbs sees its earlier rows again, plus new ones).
/// </summary>
public static class DataShare
{
    public static List<T> Take<T>(IReadOnlyList<T> rows, Func<T, string> stratum, double fraction, int seed)
    {
        if (fraction is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "A share of the rows is in (0, 1].");
        if (fraction >= 1) return rows.ToList();
        var taken = new List<T>();
        foreach (var group in rows.Select((r, i) => (Row: r, Index: i)).GroupBy(x => stratum(x.Row)).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var members = group.ToArray();
            new Random(seed).Shuffle(members); // the same order for every share: shares are nested
            int n = Math.Max(1, (int)Math.Round(members.Length * fraction));
            taken.AddRange(members.Take(n).Select(x => x.Row));
        }
        return taken;
    }
}
