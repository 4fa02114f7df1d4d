using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetLlm.MlNet.Data;

namespace MlNetLlm.MlNet.Tests;

/// <summary>The CSV reader every command and job uses, against ML.NET's own TextLoader on the same files.</summary>
public class CsvTableTests
{
    private static string[] MlNetColumn(string path, int columns, int index, char separator)
    {
        var ml = new MLContext();
        var loader = ml.Data.CreateTextLoader(new TextLoader.Options
        {
            HasHeader = true, Separators = [separator], AllowQuoting = true, ReadMultilines = true, TrimWhitespace = false,
            Columns = Enumerable.Range(0, columns).Select(i => new TextLoader.Column($"c{i}", DataKind.String, i)).ToArray(),
        });
        return loader.Load(path).GetColumn<ReadOnlyMemory<char>>($"c{index}").Select(v => v.ToString()).ToArray();
    }

    [Theory]
    [InlineData(',')]
    [InlineData(';')]
    [InlineData('\t')]
    public void Quoted_separators_quotes_and_newlines_read_as_ml_net_reads_them(char sep)
    {
        using var dir = new Fixtures.TempDir();
        string path = dir.File("t.csv");
        string s = sep.ToString();
        File.WriteAllText(path, string.Join("\n",
            $"id{s}text{s}label",
            $"1{s}\"plain{s} with separator\"{s}a",
            $"2{s}\"says \"\"hi\"\"\"{s}b",
            $"3{s}\"line one\nline two\"{s}a",
            $"4{s}unquoted text{s}c",
            $"5{s}{s}b") + "\n");
        var table = CsvTable.Load(path, sep);
        Assert.Equal(["id", "text", "label"], table.Header);
        for (int c = 0; c < 3; c++)
            Assert.Equal(MlNetColumn(path, 3, c, sep), table.Rows.Select(r => r[c]).ToArray());
        Assert.Equal("line one\nline two", table.Column("text")[2]);
    }

    [Fact]
    public void The_data_view_has_the_rows_ml_net_counts_and_numbers_where_every_value_parses()
    {
        using var dir = new Fixtures.TempDir();
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", "data", "amazon_fine_foods.csv");
        var table = CsvTable.Load(path);
        var ml = new MLContext();
        var view = table.ToDataView(ml, textColumns: table.Header);
        int mlNetRows = MlNetColumn(path, table.Header.Count, 0, ',').Length;
        Assert.Equal(mlNetRows, table.Rows.Count);
        Assert.Equal(mlNetRows, view.GetColumn<ReadOnlyMemory<char>>(table.Header[0]).Count());
        Assert.True(table.Rows.Count > 1000);
    }

    [Fact]
    public void A_row_with_a_missing_field_names_the_file_and_line()
    {
        using var dir = new Fixtures.TempDir();
        string path = dir.File("bad.csv");
        File.WriteAllText(path, "text,label\nfine,a\nshort\n");
        var e = Assert.Throws<CsvFormatException>(() => CsvTable.Load(path));
        Assert.Equal(3, e.Line);
        Assert.Contains("bad.csv", e.Message);
    }
}
