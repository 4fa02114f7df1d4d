using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Modeling.Training;
using Spectre.Console;

namespace MlNetLlm.Cli.Commands;

/// <summary>Turns expected failures (bad file, bad option) into one red line and exit code 1, not a stack trace.</summary>
public static class CliErrors
{
    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C / SIGTERM: what finished is kept (an experiment's trials are in its store: --resume continues it).
            AnsiConsole.MarkupLine("[red]interrupted:[/] stopped before the end; finished trials are kept in the store (continue with --resume), no partial output file was written.");
            return 130;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or UnauthorizedAccessException or InvalidOperationException or NotSupportedException
                                       or InvalidDataException or MlNetLlm.Tokenization.CheckpointException or TrainingDivergedException
                                       or TorchLoadException or MlNetLlm.AutoMl.TrialStoreException)
        {
            // Library errors name properties and values; the CLI adds its own flag where one fixes the problem.
            string hint = e is MlNetLlm.MlNet.Data.CsvFormatException { SuggestedSeparator: { } s } ? $" Pass --separator {(s == '\t' ? "tab" : $"'{s}'")}." : "";
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {CliOptionNames.ToFlags(Message(e))}{hint}");
            return 1;
        }
    }

    /// <summary>The message on one line, without the " (Parameter 'MaxLength')" .NET appends: the flag is already named.</summary>
    private static string Message(Exception e)
    {
        string m = e is ArgumentException { ParamName: { } p } ? e.Message.Replace($" (Parameter '{p}')", "") : e.Message;
        return m.ReplaceLineEndings(" ");
    }
}
