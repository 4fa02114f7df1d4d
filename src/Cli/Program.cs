// mlnet-llm: the command-line face of MlNetLlm. Each sub-command lives in Commands/ as an ICliCommand,
// found here by reflection so commands can be added without touching this file.
using System.CommandLine;
using System.Reflection;
using MlNetLlm.Cli;
using MlNetLlm.Cli.Fetching;

// Piped or redirected output (CI logs, files) is not wrapped at Spectre's default 80 columns: messages and paths stay whole.
if (Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = 4096;
// The installed tool fetches libtorch and the bundled models' packages on first use (it does not carry them).
ToolBackend.Register();
var root = new RootCommand("mlnet-llm: transformer language models for ML.NET (train, predict, embed, select features, AutoML).");
foreach (var type in Assembly.GetExecutingAssembly().GetTypes()
             .Where(t => typeof(ICliCommand).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
             .OrderBy(t => t.Name))
    root.Subcommands.Add(((ICliCommand)Activator.CreateInstance(type)!).Build());
return await root.Parse(args).InvokeAsync();

namespace MlNetLlm.Cli
{
    /// <summary>One sub-command of mlnet-llm.</summary>
    public interface ICliCommand
    {
        Command Build();
    }
}
