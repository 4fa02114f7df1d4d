using Microsoft.Extensions.Logging;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace MlNetLlm.MlNet;

/// <summary>
/// Where a component's progress messages go: ML.NET's own channel, so they arrive in <c>MLContext.Log</c> with the
/// source "component; activity" like ML.NET's trainers' messages ("SdcaMaximumEntropy; Training"), and, when the
/// caller gives one, an <see cref="ILogger"/>.
/// Neither is required: without both, messages go nowhere.
/// </summary>
public sealed class ComponentLog : IDisposable
{
    private readonly IChannel? _channel;
    private readonly ILogger? _logger;
    private readonly string _component;

    public ComponentLog(IHostEnvironment? environment, string component, string activity, ILogger? logger)
    {
        _component = component;
        _channel = environment?.Register(component).Start(activity);
        _logger = logger;
    }

    /// <summary>A log that writes nowhere.</summary>
    public static ComponentLog None => new(null, "", "", null);

    /// <summary>The environment (the MLContext) behind a trainers catalog.</summary>
    public static IHostEnvironment EnvironmentOf(TrainCatalogBase.CatalogInstantiatorBase catalog) => catalog.GetEnvironment();

    /// <summary>The environment (the MLContext) behind a transforms catalog.</summary>
    public static IHostEnvironment EnvironmentOf(TransformsCatalog.TextTransforms catalog) => catalog.GetEnvironment();

    /// <summary>The MLContext as an environment: its Log event receives what components write here.</summary>
    public static IHostEnvironment EnvironmentOf(MLContext context) => context;

    public void Info(string message)
    {
        _channel?.Info(message);
        _logger?.LogInformation("{Component}: {Message}", _component, message);
    }

    public void Warning(string message)
    {
        _channel?.Warning(message);
        _logger?.LogWarning("{Component}: {Message}", _component, message);
    }

    public void Dispose() => _channel?.Dispose();
}
