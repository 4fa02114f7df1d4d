using System.CommandLine;
using MlNetLlm.Modeling.Runtime;

namespace MlNetLlm.Cli.Commands;

/// <summary>Options several commands share.</summary>
public static class CliOptions
{
    /// <summary>A required string option: a file or folder a command reads or writes, or a column it needs.</summary>
    public static Option<string> Required(string name, string description) => new(name) { Description = description, Required = true };

    /// <summary><c>--device cpu|cuda|cuda:N|auto</c> (default cpu), read with <see cref="DeviceOptions.Parse(string, int?)"/>.</summary>
    public static Option<string> Device() => new("--device") { Description = "cpu | cuda | cuda:N | auto", DefaultValueFactory = _ => "cpu" };

    /// <summary><c>--threads N</c>: libtorch's CPU threads (null: its default).</summary>
    public static Option<int?> Threads(string description = "CPU threads for libtorch.") => new("--threads") { Description = description };

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

    /// <summary><c>--precision auto|fp32|bf16</c> (default auto: bf16 where the device computes it natively).</summary>
    public static Option<Precision> Precision(string description =
        "auto | fp32 | bf16: the matrix products' number format (weights, layer norms, heads and losses stay fp32). auto: bf16 where the CPU has avx512_bf16/amx_bf16 or the GPU compute capability 8.0+, fp32 elsewhere and for the LSTM.") => new("--precision")
    {
        Description = description,
        DefaultValueFactory = _ => Modeling.Runtime.Precision.Auto,
        CustomParser = r => r.Tokens.Count == 0 ? Modeling.Runtime.Precision.Auto : ParsePrecision(r.Tokens[0].Value, r),
    };

    /// <summary>One of an option's named values (case-insensitive), or an error naming the flag and every choice.</summary>
    public static T ParseChoice<T>(string flag, string value, params (string Name, T Value)[] choices)
    {
        foreach (var (name, choice) in choices)
            if (name.Equals(value.Trim(), StringComparison.OrdinalIgnoreCase)) return choice;
        throw new ArgumentException($"{flag} '{value}' is not one of {string.Join(", ", choices.Select(c => c.Name))}.");
    }

    public static Precision ParsePrecision(string value, System.CommandLine.Parsing.ArgumentResult? r)
    {
        switch (value.Trim().ToLowerInvariant())
        {
            case "auto": return Modeling.Runtime.Precision.Auto;
            case "fp32" or "float32": return Modeling.Runtime.Precision.Fp32;
            case "bf16" or "bfloat16": return Modeling.Runtime.Precision.Bf16;
        }
        string message = value.Trim().ToLowerInvariant() is "fp16" or "float16" or "half"
            ? $"--precision {value} is not offered: fp16 needs loss scaling (TorchSharp has no GradScaler) and pays only on CUDA GPUs; bf16 has fp32's range and needs none. Use auto, fp32 or bf16."
            : $"--precision '{value}' is not one of auto, fp32, bf16.";
        if (r is null) throw new ArgumentException(message);
        r.AddError(message);
        return Modeling.Runtime.Precision.Auto;
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
