namespace MlNetLlm.TestSupport;

/// <summary>Small data sets for trainer tests.</summary>
public static class TextData
{
    public sealed class Row
    {
        public string Text { get; set; } = "";
        public string Label { get; set; } = "";
    }

    public sealed class PairRow
    {
        public string Text { get; set; } = "";
        public string Text2 { get; set; } = "";
        public bool Label { get; set; }
    }

    public sealed class RegressionRow
    {
        public string Text { get; set; } = "";
        public float Label { get; set; }
    }

    private static readonly string[] Filler = ["the", "a", "today", "really", "very", "some", "it", "was", "and", "then", "we", "they", "quite", "again", "there"];
    private static readonly Dictionary<string, string[]> Topics = new()
    {
        ["sports"] = ["football", "goal", "match", "team", "score"],
        ["food"] = ["pizza", "bread", "cheese", "soup", "salad"],
        ["tech"] = ["laptop", "code", "server", "phone", "chip"],
    };

    /// <summary>Three topics, each text = filler words plus two topic words: easy to learn, not trivial.</summary>
    public static List<Row> Topics3(int n, int seed)
    {
        var rng = new Random(seed);
        var labels = Topics.Keys.ToArray();
        return Enumerable.Range(0, n).Select(i =>
        {
            string label = labels[i % labels.Length];
            var words = Enumerable.Range(0, 6).Select(_ => Filler[rng.Next(Filler.Length)]).ToList();
            words.Insert(rng.Next(words.Count), Topics[label][rng.Next(5)]);
            words.Insert(rng.Next(words.Count), Topics[label][rng.Next(5)]);
            return new Row { Text = string.Join(' ', words), Label = label };
        }).ToList();
    }

    /// <summary>Target = number of "great" words (0-4) in the text.</summary>
    public static List<RegressionRow> CountGreat(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ =>
        {
            int k = rng.Next(5);
            var words = Enumerable.Range(0, 6).Select(_ => Filler[rng.Next(Filler.Length)]).ToList();
            for (int j = 0; j < k; j++) words.Insert(rng.Next(words.Count + 1), "great");
            return new RegressionRow { Text = string.Join(' ', words), Label = k };
        }).ToList();
    }

    /// <summary>Pairs whose label says whether both texts share a topic.</summary>
    public static List<PairRow> SameTopicPairs(int n, int seed)
    {
        var rows = Topics3(2 * n, seed);
        var rng = new Random(seed + 1);
        return Enumerable.Range(0, n).Select(i =>
        {
            var a = rows[i];
            var b = rows[rng.Next(rows.Count)];
            return new PairRow { Text = a.Text, Text2 = b.Text, Label = a.Label == b.Label };
        }).ToList();
    }

    /// <summary>Writes <paramref name="rows"/> as a text,label CSV (texts quoted) at <paramref name="path"/>; returns the path.</summary>
    public static string WriteCsv(string path, IEnumerable<Row> rows)
    {
        File.WriteAllLines(path, ["text,label", .. rows.Select(r => $"\"{r.Text}\",{r.Label}")]);
        return path;
    }

    /// <summary>Accuracy of a saved experiment model on 60 new Topics3 texts (majority class: 1/3).</summary>
    public static double FreshTopicAccuracy(Microsoft.ML.ITransformer model, Fixtures.TempDir dir)
    {
        var rows = TextData.Topics3(60, seed: 977);
        var table = MlNetLlm.MlNet.Data.CsvTable.Load(WriteCsv(dir.File("fresh-topics.csv"), rows));
        var scored = model.Transform(table.ToDataView(new Microsoft.ML.MLContext(), textColumns: table.Header));
        var predicted = Microsoft.ML.Data.ColumnCursorExtensions.GetColumn<ReadOnlyMemory<char>>(scored, "PredictedLabelValue").Select(v => v.ToString()).ToList();
        return predicted.Zip(rows).Count(p => p.First == p.Second.Label) / (double)rows.Count;
    }
}
