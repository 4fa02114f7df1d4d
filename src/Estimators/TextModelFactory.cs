using MlNetLlm.Modeling;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Tokenization;
using MlNetLlm.Modeling.Training;

namespace MlNetLlm.Estimators;

/// <summary>Builds the untrained model and tokenizer the options describe.</summary>
internal static class TextModelFactory
{
    internal sealed record Built(TextModelSpec Spec, TextHeadModel Model, TextTokenizer Tokenizer, IReadOnlyDictionary<string, byte[]> TokenizerFiles);

    internal static Built Build(TextTrainerOptions o, TaskKind task, int outputs, string[] textColumns, IEnumerable<string> trainingTexts)
    {
        var baseSpec = new TextModelSpec
        {
            Task = task, TextColumns = textColumns, Outputs = outputs, PredictionBatchSize = o.PredictionBatchSize, Dropout = o.Dropout,
            ScoreColumnName = o.ScoreColumnName, PredictedLabelColumnName = o.PredictedLabelColumnName,
            Body = new EncoderSpec { Encoder = o.Encoder, Pooling = o.Pooling, MaxLength = o.MaxLength, TokenizerKind = "words", Tokenization = EncoderSpec.CurrentTokenization },
        };
        switch (o.Encoder)
        {
            case TextEncoderKind.Checkpoint:
            {
                var pretrained = PretrainedTransformer.Load(o.CheckpointPath!);
                var (body, encoder) = EncoderSpec.FromPretrained(pretrained, o.Pooling, o.MaxLength);
                var spec = baseSpec with { Body = body };
                var model = new TextHeadModel(encoder, outputs, o.Dropout);
                if (o.FreezeEncoder) model.FreezeBody();
                return new Built(spec, model, pretrained.Tokenizer, pretrained.TokenizerFiles);
            }
            case TextEncoderKind.Transformer:
            {
                var (tokenizer, files, vocab) = WordTokenizer(o, baseSpec.Body, trainingTexts);
                var config = new TransformerConfig
                {
                    ModelType = "bert", Family = EncoderFamily.Bert, VocabSize = vocab.Count, HiddenSize = o.TransformerHiddenSize,
                    NumLayers = o.TransformerLayers, NumHeads = o.TransformerHeads, IntermediateSize = 4 * o.TransformerHiddenSize,
                    MaxPositionEmbeddings = o.MaxLength, TypeVocabSize = 2, PadTokenId = 0, HiddenDropout = o.Dropout, AttentionDropout = o.Dropout,
                };
                config.Validate("TextTrainerOptions");
                var spec = baseSpec with { Body = baseSpec.Body with { Transformer = config, EncoderHasPooler = false } };
                return new Built(spec, spec.CreateModel(), tokenizer, files);
            }
            default:
            {
                var (tokenizer, files, vocab) = WordTokenizer(o, baseSpec.Body, trainingTexts);
                Dictionary<string, float[]>? glove = null;
                int embeddingSize = o.LstmEmbeddingSize;
                if (o.GlovePath is not null)
                {
                    (glove, embeddingSize) = GloveVectors.Load(o.GlovePath, vocab.ToHashSet());
                }
                var lstm = new LstmConfig(vocab.Count, embeddingSize, o.LstmHiddenSize, o.LstmLayers, o.LstmBidirectional, o.Dropout, 0);
                var spec = baseSpec with { Body = baseSpec.Body with { Lstm = lstm } };
                var model = spec.CreateModel();
                if (glove is not null)
                    ((LstmTextEncoder)model.Body).InitializeEmbeddings(vocab.Select((w, i) => (w, i)).Where(x => glove.ContainsKey(x.w)).ToDictionary(x => x.i, x => glove[x.w]));
                return new Built(spec, model, tokenizer, files);
            }
        }
    }

    private static (TextTokenizer, Dictionary<string, byte[]>, List<string>) WordTokenizer(TextTrainerOptions o, EncoderSpec body, IEnumerable<string> texts)
    {
        var vocab = WordVocabulary.Build(texts, o.MaxVocabularySize, o.MinWordCount);
        // Built the way a saved model rebuilds it: the spec's tokenizer from the vocab.txt bytes the zip stores.
        var files = new Dictionary<string, byte[]> { ["vocab.txt"] = WordVocabulary.ToBytes(vocab) };
        return (body.CreateTokenizer(files), files, vocab);
    }
}
