using Microsoft.ML.Tokenizers;

namespace MlNetLlm.Modeling.Tokenization;

/// <summary>
/// XLM-R SentencePiece (sentencepiece.bpe.model) with fairseq's id layout: &lt;s&gt;=0, &lt;pad&gt;=1, &lt;/s&gt;=2, &lt;unk&gt;=3,
/// and every other SentencePiece id shifted by one.
/// </summary>
public sealed class XlmRobertaTextTokenizer : TextTokenizer
{
    private const int FairseqOffset = 1;
    private const int FairseqUnk = 3;
    private readonly SentencePieceTokenizer _spm;

    private XlmRobertaTextTokenizer(SentencePieceTokenizer spm, int modelMaxLength)
        : base(new SpecialTokenIds(Start: 0, Separator: 2, Padding: 1, Unknown: FairseqUnk), SpecialTokenLayout.Roberta, modelMaxLength)
    {
        _spm = spm;
    }

    public static XlmRobertaTextTokenizer Create(string modelPath, int modelMaxLength = 512)
    {
        using var stream = File.OpenRead(modelPath);
        var spm = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false);
        return new XlmRobertaTextTokenizer(spm, modelMaxLength);
    }

    public override IReadOnlyList<int> TokenizeToIds(string text)
    {
        var ids = _spm.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false);
        var result = new int[ids.Count];
        for (int i = 0; i < result.Length; i++)
            result[i] = ids[i] == _spm.UnknownId ? FairseqUnk : ids[i] + FairseqOffset;
        return result;
    }
}
