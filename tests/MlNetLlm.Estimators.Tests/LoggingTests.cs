using Microsoft.Extensions.Logging;
using Microsoft.ML;
using MlNetLlm.Estimators;
using MlNetLlm.MlNet.Persistence;
using MlNetLlm.Modeling.Training;
using MlNetLlm.Transforms.Embeddings;

namespace MlNetLlm.Estimators.Tests;

/// <summary>Training and embedding messages reach ML.NET's channel (MLContext.Log) and a caller's ILogger.</summary>
public class LoggingTests
{
    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception)));
    }

    [Fact]
    public void A_fit_writes_its_epochs_with_the_time_left_to_MLContext_Log_and_to_the_ILogger()
    {
        var ml = new MLContext(seed: 1);
        var messages = new List<LoggingEventArgs>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e); };
        var logger = new ListLogger();
        var options = new TextTrainerOptions
        {
            Encoder = TextEncoderKind.Lstm, Epochs = 2, BatchSize = 16, LstmEmbeddingSize = 16, LstmHiddenSize = 16, MinWordCount = 1, Logger = logger,
        };
        var data = ml.Data.LoadFromEnumerable(TextData.Topics3(48, seed: 1));
        ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.TextClassifier(options)).Fit(data);

        List<string> ours;
        lock (messages) ours = messages.Where(m => m.Source == "TextClassifier; Training" && m.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Info).Select(m => m.RawMessage).ToList();
        Assert.Contains(ours, m => m.Contains("training an LSTM on 48 rows") && m.Contains("2 epochs"));
        Assert.Contains(ours, m => m.StartsWith("epoch 1/2: train loss", StringComparison.Ordinal) && m.Contains("s left"));
        Assert.Contains(ours, m => m.StartsWith("epoch 2/2: train loss", StringComparison.Ordinal) && !m.Contains("s left"));
        Assert.Contains(ours, m => m.StartsWith("trained in", StringComparison.Ordinal));
        // The same lines, in order, reach the ILogger (prefixed with the component).
        var logged = logger.Lines.Select(l => l.Message).ToList();
        Assert.Equal(ours.Count, logged.Count);
        Assert.All(logged.Zip(ours), p => Assert.Equal($"TextClassifier: {p.Second}", p.First));
    }

    [Fact]
    public void The_embedding_transform_says_what_it_loaded()
    {
        var ml = new MLContext();
        var messages = new List<string>();
        ml.Log += (_, e) => { if (e.Source == "TextEmbedding; Loading" && e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Info) lock (messages) messages.Add(e.RawMessage); };
        var data = ml.Data.LoadFromEnumerable(TextData.Topics3(4, seed: 1));
        using var t = ml.Transforms.Text.TextEmbedding("Embedding", "Text", Fixtures.Checkpoint("tiny-bert")).Fit(data);
        Assert.Contains(messages, m => m.Contains($"{t.Dimension}-dimensional Mean embeddings") && m.Contains("on cpu"));
    }

    [Theory]
    [InlineData("6.0.0", "6.0.0", true)]
    [InlineData("6.0.0", "6.0.3", true)]
    [InlineData("6.0.0", "6.1.0", false)]
    [InlineData("6.0.0", "5.0.1", false)]
    [InlineData("6.0.0", "7.0.0-preview.1", false)]
    public void The_ml_net_version_check_allows_patch_releases_and_names_both_versions_otherwise(string compiled, string loaded, bool ok)
    {
        string? problem = MlNetVersionCheck.Compare(compiled, loaded);
        if (ok) Assert.Null(problem);
        else
        {
            Assert.NotNull(problem);
            Assert.Contains($"built for ML.NET {compiled}", problem);
            Assert.Contains($"loaded ML.NET {loaded}", problem);
        }
    }

    [Fact]
    public void This_process_runs_the_ml_net_the_library_was_built_for()
    {
        Assert.Equal("6.0.0", MlNetVersionCheck.CompiledAgainst());
        Assert.Null(MlNetVersionCheck.Compare(MlNetVersionCheck.CompiledAgainst(), MlNetVersionCheck.Loaded()));
    }
}
