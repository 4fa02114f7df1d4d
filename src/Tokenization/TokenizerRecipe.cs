namespace MlNetLlm.Tokenization;

/// <summary>
/// How to rebuild a trained model's tokenizer from the files stored with it (in a model zip, or beside an exported
/// ONNX graph): a checkpoint's own tokenizer files for its <c>model_type</c>, or a WordPiece vocabulary learned from the
/// training text, with the tokenizer implementation the model was trained with.
/// </summary>
internal sealed record TokenizerRecipe : ITokenizedModel
{
    /// <summary>The checkpoint's own tokenizer files (vocab.txt, vocab.json + merges.txt, sentencepiece.bpe.model, tokenizer.json).</summary>
    public const string CheckpointKind = "checkpoint";
    /// <summary>A lower-casing WordPiece vocab.txt learned from the training text (models trained from scratch).</summary>
    public const string WordsKind = "words";

    /// <summary><see cref="CheckpointKind"/> or <see cref="WordsKind"/>.</summary>
    public required string Kind { get; init; }
    public required TokenizerGeneration Generation { get; init; }
    /// <summary>Hugging Face model_type (checkpoint kind; empty for words).</summary>
    public string ModelType { get; init; } = "";
    /// <summary>The model's position limit (checkpoint kind), or the longest sequence a words tokenizer produces.</summary>
    public required int PositionLimit { get; init; }

    /// <summary>The tokenizer from in-memory files by name; <paramref name="source"/> names them in errors.</summary>
    public TextTokenizer Create(IReadOnlyDictionary<string, byte[]> files, string source) => Kind switch
    {
        WordsKind => Generation == TokenizerGeneration.MicrosoftMlTokenizers
            ? LegacyWordPieceTextTokenizer.Create(new MemoryStream(Vocab(files, source), writable: false), lowerCase: true, modelMaxLength: PositionLimit)
            : WordPieceTextTokenizer.Create(WordPieceTextTokenizer.ReadVocabulary(new StreamReader(new MemoryStream(Vocab(files, source), writable: false))),
                new BertBasicTokenizer(true, null, true), PositionLimit),
        CheckpointKind => TokenizerLoader.Load(files, this, Generation, source),
        _ => throw new InvalidDataException($"Tokenizer kind \"{Kind}\" of {source} is not known (known: {CheckpointKind}, {WordsKind}): it was saved by a newer MlNetLlm."),
    };

    private static byte[] Vocab(IReadOnlyDictionary<string, byte[]> files, string source) =>
        files.TryGetValue("vocab.txt", out var v) ? v : throw new InvalidDataException($"There is no vocab.txt among {source}.");
}
