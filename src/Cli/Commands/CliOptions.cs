using System.CommandLine;

namespace MlNetLlm.Cli.Commands;

/// <summary>Options several commands share.</summary>
public static class CliOptions
{
    /// <summary><c>--separator</c>: the data files' field separator (one character, or tab / semicolon / comma / bar).</summary>
    public static Option<char?> Separator() => new("--separator")
    {
        Description = "Field separator of the CSV files: one character, or tab, semicolon, comma, bar (default: comma).",
        CustomParser = r => r.Tokens.Count == 0 ? null : ParseSeparator(r.Tokens[0].Value, r),
    };

    /// <summary>Refuses <paramref name="options"/> the user typed where they do not apply (<paramref name="why"/> says
    /// where they do), rather than ignoring them; options left at their defaults pass.</summary>
    public static void RefuseGiven(ParseResult parse, string why, params Option[] options)
    {
        var given = options.Where(o => parse.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
        if (given.Count > 0) throw new ArgumentException($"{string.Join(", ", given)} {why}.");
    }

    private static char? ParseSeparator(string value, System.CommandLine.Parsing.ArgumentResult r)
    {
        switch (value.ToLowerInvariant())
        {
            case "tab" or "\\t" or "\t": return '\t';
            case "semicolon": return ';';
            case "comma": return ',';
            case "bar" or "pipe": return '|';
        }
        if (value.Length == 1 && value is not ("\"" or "\n" or "\r")) return value[0];
        r.AddError($"--separator '{value}' is not one character (or tab, semicolon, comma, bar); a quote or line break cannot separate fields.");
        return null;
    }
}
