// mlnet-llm: the command-line face of MlNetLlm. Each sub-command lives in Commands/, one file each, listed here.
using System.CommandLine;
using MlNetLlm.Cli.Commands;
using MlNetLlm.Cli;
using MlNetLlm.Cli.Fetching;

// Piped or redirected output (CI logs, files) is not wrapped at Spectre's default 80 columns: messages and paths stay whole.
if (Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = 4096;
// The installed tool fetches libtorch and the bundled models' packages on first use (it does not carry them).
ToolBackend.Register();
var root = new RootCommand("mlnet-llm: transformer language models for ML.NET (train, predict, embed, select features, AutoML).");
ICliCommand[] commands =
[
    new ClassificationCommand(), new RegressionCommand(), new TrainCommand(), new PredictCommand(), new EmbedCommand(),
    new SelectFeaturesCommand(), new ExportOnnxCommand(), new ImportOnnxCommand(), new TokenizeCommand(), new PretrainCommand(),
];
foreach (var command in commands)
    root.Subcommands.Add(command.Build());
return await root.Parse(args).InvokeAsync();

namespace MlNetLlm.Cli
{
    /// <summary>One sub-command of mlnet-llm.</summary>
    public interface ICliCommand
    {
        Command Build();
    }
}
