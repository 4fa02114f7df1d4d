using System.Globalization;
using System.Text;
using Microsoft.ML;

namespace MlNetLlm.MlNet.Data;

/// <summary>A CSV file or text that cannot be read; the message names the file and the line.</summary>
public sealed class CsvFormatException(string message, string source, int line, char? suggestedSeparator = null) : FormatException(message)
{
    public new string Source { get; } = source;
    public int Line { get; } = line;
    /// <summary>The separator the file seems to use, when the one it was read with does not fit it.</summary>
    public char? SuggestedSeparator { get; } = suggestedSeparator;
}

/// <summary>
/// A CSV table read strictly (RFC 4180): a header row, comma-separated fields (or another separator), double-quoted
/// fields that may hold separators, doubled quotes and newlines. A malformed file (an unterminated quote, a stray quote, a row with the wrong
/// number of fields) fails with the file name and line number instead of silently becoming missing values.
/// </summary>
public sealed class CsvTable
{
    private CsvTable(string source, string[] header, List<string[]> rows)
    {
        Source = source;
        Header = header;
        Rows = rows;
    }

    public string Source { get; }
    public IReadOnlyList<string> Header { get; }
    public IReadOnlyList<string[]> Rows { get; }

    public int ColumnIndex(string name, string option = "column")
    {
        int i = Array.IndexOf((string[])Header, name);
        if (i < 0)
            throw new ArgumentException($"{option} '{name}' is not a column of '{Source}' (columns: {string.Join(", ", Header)}).");
        return i;
    }

    public string[] Column(string name) => Rows.Select(r => r[ColumnIndex(name)]).ToArray();

    /// <param name="separator">The field separator; null reads commas and, when the header row looks separated by
    /// something else (a semicolon, tab or bar and no comma), fails saying so instead of reading one wide column.</param>
    public static CsvTable Load(string path, char? separator = null)
    {
        if (Directory.Exists(path))
            throw new FileNotFoundException($"Data file '{path}' is a directory, not a CSV file.", path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Data file '{path}' does not exist.", path);
        return Parse(new StringReader(DecodeUtf8(File.ReadAllBytes(path), path)), path, separator);
    }

    public static readonly char[] LikelySeparators = [';', '\t', '|'];

    public static string SeparatorName(char c) => c switch { '\t' => "tab", ';' => "semicolon", ',' => "comma", '|' => "bar", _ => $"'{c}'" };

    /// <summary>';' for a header like <c>id;text;label</c> with no comma in it, else null.</summary>
    private static char? GuessSeparator(string headerLine)
    {
        if (headerLine.Contains(',')) return null;
        var counts = LikelySeparators.Select(c => (c, n: headerLine.Count(x => x == c))).Where(t => t.n > 0).OrderByDescending(t => t.n).ToList();
        return counts.Count > 0 ? counts[0].c : null;
    }

    private static CsvFormatException SeparatorHint(string source, string headerLine, char guess, CsvFormatException? inner = null) => new(
        $"'{source}' looks {SeparatorName(guess)}-separated, not comma-separated: its header line is \"{(headerLine.Length > 120 ? headerLine[..120] + "..." : headerLine)}\". Read it with the separator '{(guess == '\t' ? "\\t" : guess.ToString())}'."
        + (inner is null ? "" : $" (As CSV: {inner.Message})"), source, 1, guess);

    /// <summary>
    /// The file's text, strictly UTF-8 (a BOM is skipped). Invalid bytes are an error naming the line and byte offset:
    /// decoding them as replacement characters would silently merge distinct labels (café, cafè → caf�).
    /// </summary>
    public static string DecodeUtf8(byte[] bytes, string source)
    {
        int start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        for (int i = start; i < bytes.Length;)
        {
            if (bytes[i] < 0x80) { i++; continue; }
            if (Rune.DecodeFromUtf8(bytes.AsSpan(i), out _, out int consumed) != System.Buffers.OperationStatus.Done)
            {
                int line = 1 + bytes.AsSpan(0, i).Count((byte)'\n');
                throw new CsvFormatException(
                    $"'{source}' is not valid UTF-8: line {line}, byte offset {i} (0x{bytes[i]:X2}). Convert it first, e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`.",
                    source, line);
            }
            i += consumed;
        }
        return Encoding.UTF8.GetString(bytes, start, bytes.Length - start);
    }

    public static CsvTable Parse(TextReader reader, string source = "<text>", char? separator = null)
    {
        if (separator is null)
        {
            // Keep the header line to suggest a separator when commas do not fit the file.
            string text = reader.ReadToEnd();
            int end = text.IndexOf('\n');
            string firstLine = (end < 0 ? text : text[..end]).TrimEnd('\r');
            char? guess = GuessSeparator(firstLine);
            CsvTable table;
            try
            {
                table = Parse(new StringReader(text), source, ',');
            }
            catch (CsvFormatException e) when (guess is { } g)
            {
                throw SeparatorHint(source, firstLine, g, e);
            }
            if (guess is { } sep && table.Header.Count == 1) throw SeparatorHint(source, firstLine, sep);
            return table;
        }
        char s = separator.Value;
        if (s is '"' or '\n' or '\r') throw new ArgumentException($"The CSV separator cannot be {(s == '"' ? "a quote" : "a line break")}.", nameof(separator));
        var records = ReadRecords(reader, source, s).ToList();
        if (records.Count == 0)
            throw new CsvFormatException($"'{source}' is empty: a header row is needed.", source, 1);
        var (header, headerLine) = records[0];
        var dup = header.GroupBy(h => h).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null)
            throw new CsvFormatException($"'{source}' line {headerLine}: column name '{dup.Key}' appears more than once in the header.", source, headerLine);
        var rows = new List<string[]>(records.Count - 1);
        foreach (var (fields, line) in records.Skip(1))
        {
            if (fields.Length == 1 && fields[0].Length == 0) continue; // blank line
            if (fields.Length != header.Length)
                throw new CsvFormatException($"'{source}' line {line}: {fields.Length} fields, but the header has {header.Length}.", source, line);
            rows.Add(fields);
        }
        return new CsvTable(source, header, rows);
    }

    /// <summary>Yields each record with the line number it starts on.</summary>
    private static IEnumerable<(string[] Fields, int Line)> ReadRecords(TextReader reader, string source, char separator)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        int line = 1, recordLine = 1;
        bool inQuotes = false, fieldWasQuoted = false, any = false;
        int c;
        while ((c = reader.Read()) != -1)
        {
            any = true;
            char ch = (char)c;
            if (inQuotes)
            {
                if (ch == '"')
                {
                    if (reader.Peek() == '"') { reader.Read(); field.Append('"'); }
                    else inQuotes = false;
                }
                else
                {
                    if (ch == '\n') line++;
                    field.Append(ch);
                }
                continue;
            }
            if (ch == separator)
            {
                fields.Add(field.ToString());
                field.Clear();
                fieldWasQuoted = false;
                continue;
            }
            switch (ch)
            {
                case '"':
                    if (field.Length > 0 || fieldWasQuoted)
                        throw new CsvFormatException($"'{source}' line {line}: a quote inside an unquoted field (quote the whole field and double inner quotes).", source, line);
                    inQuotes = true;
                    fieldWasQuoted = true;
                    break;
                case '\r':
                    break;
                case '\n':
                    fields.Add(field.ToString());
                    field.Clear();
                    fieldWasQuoted = false;
                    yield return (fields.ToArray(), recordLine);
                    fields.Clear();
                    line++;
                    recordLine = line;
                    any = false;
                    break;
                default:
                    if (fieldWasQuoted)
                        throw new CsvFormatException($"'{source}' line {line}: text after a closing quote.", source, line);
                    field.Append(ch);
                    break;
            }
        }
        if (inQuotes)
            throw new CsvFormatException($"'{source}' line {recordLine}: a quoted field is never closed.", source, recordLine);
        if (any)
        {
            fields.Add(field.ToString());
            yield return (fields.ToArray(), recordLine);
        }
    }

    /// <summary>True when every non-empty value of the column parses as a number (empty = missing).</summary>
    public bool IsNumeric(string column)
    {
        int i = ColumnIndex(column);
        bool sawValue = false;
        foreach (var r in Rows)
        {
            var v = r[i].Trim();
            if (v.Length == 0 || v == "NA" || v == "NaN") continue;
            if (!float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _)) return false;
            sawValue = true;
        }
        return sawValue;
    }

    /// <summary>
    /// An IDataView over the table: the named columns (all when null) as Single where <see cref="IsNumeric"/> holds
    /// (missing → NaN) and as text otherwise, unless <paramref name="textColumns"/> forces text.
    /// </summary>
    public IDataView ToDataView(MLContext ml, IEnumerable<string>? columns = null, IEnumerable<string>? textColumns = null)
    {
        var forcedText = new HashSet<string>(textColumns ?? []);
        var names = (columns ?? Header).ToList();
        var builder = new InMemoryDataViewBuilder(Rows.Count);
        foreach (var name in names)
        {
            var values = Column(name);
            if (!forcedText.Contains(name) && IsNumeric(name))
                builder.AddFloat(name, values.Select(ParseFloat).ToArray());
            else
                builder.AddText(name, values);
        }
        return builder.Build();
    }

    private static float ParseFloat(string s)
    {
        s = s.Trim();
        return s.Length == 0 || s == "NA" ? float.NaN : float.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
    }
}
