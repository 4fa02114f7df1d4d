using Google.Protobuf;

namespace MlNetLlm.Tokenization;

/// <summary>The parts of a SentencePiece model file (sentencepiece_model.proto's ModelProto) a tokenizer needs:
/// the pieces with their scores and types, the model type, and the normalizer's precompiled character map.</summary>
internal sealed class SentencePieceModelFile
{
    public enum PieceType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }
    public enum ModelType { Unigram = 1, Bpe = 2, Word = 3, Char = 4 }

    public sealed record Piece(string Text, float Score, PieceType Type);

    public required IReadOnlyList<Piece> Pieces { get; init; }
    public ModelType Model { get; init; } = ModelType.Unigram;
    /// <summary>normalizer_spec.precompiled_charsmap (empty when the model was trained without normalization).</summary>
    public byte[] PrecompiledCharsMap { get; init; } = [];

    public static SentencePieceModelFile Read(string path)
    {
        try
        {
            return Parse(File.ReadAllBytes(path));
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"'{path}' is not a SentencePiece model: {e.Message}", e);
        }
    }

    public static SentencePieceModelFile Parse(byte[] bytes)
    {
        var pieces = new List<Piece>();
        var model = ModelType.Unigram;
        byte[] charsMap = [];
        var input = new CodedInputStream(bytes);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: pieces.Add(ReadPiece(input.ReadBytes())); break;
                case 2:
                    foreach (var (field, value) in Fields(input.ReadBytes()))
                        if (field == 3) model = (ModelType)(int)value.Varint; // trainer_spec.model_type
                    break;
                case 3:
                    foreach (var (field, value) in Fields(input.ReadBytes()))
                        if (field == 2) charsMap = value.Bytes!; // normalizer_spec.precompiled_charsmap
                    break;
                default: input.SkipLastField(); break;
            }
        }
        if (pieces.Count == 0) throw new InvalidDataException("The SentencePiece model has no pieces.");
        return new SentencePieceModelFile { Pieces = pieces, Model = model, PrecompiledCharsMap = charsMap };
    }

    private static Piece ReadPiece(ByteString bytes)
    {
        string text = "";
        float score = 0;
        var type = PieceType.Normal;
        var input = bytes.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: text = input.ReadString(); break;
                case 2: score = input.ReadFloat(); break;
                case 3: type = (PieceType)input.ReadEnum(); break;
                default: input.SkipLastField(); break;
            }
        }
        return new Piece(text, score, type);
    }

    private readonly record struct Value(ulong Varint, byte[]? Bytes);

    // The scalar and bytes fields of a sub-message (TrainerSpec, NormalizerSpec); others are skipped.
    private static IEnumerable<(int Field, Value Value)> Fields(ByteString bytes)
    {
        var input = bytes.CreateCodedInput();
        var result = new List<(int, Value)>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            int field = WireFormat.GetTagFieldNumber(tag);
            switch (WireFormat.GetTagWireType(tag))
            {
                case WireFormat.WireType.Varint: result.Add((field, new Value(input.ReadUInt64(), null))); break;
                case WireFormat.WireType.LengthDelimited: result.Add((field, new Value(0, input.ReadBytes().ToByteArray()))); break;
                default: input.SkipLastField(); break;
            }
        }
        return result;
    }
}
