using Microsoft.ML.Tokenizers;

namespace MlNetLlm.Tokenization;

/// <summary>
/// XLM-R SentencePiece (sentencepiece.bpe.model) with fairseq's id layout: &lt;s&gt;=0, &lt;pad&gt;=1, &lt;/s&gt;=2, &lt;unk&gt;=3,
/// and every other SentencePiece id shifted by one.
/// </summary>
internal sealed class XlmRobertaTextTokenizer : TextTokenizer
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
        return Create(stream, modelMaxLength);
    }

    public static XlmRobertaTextTokenizer Create(Stream model, int modelMaxLength = 512)
    {
        var spm = SentencePieceTokenizer.Create(model, addBeginningOfSentence: false, addEndOfSentence: false);
        return new XlmRobertaTextTokenizer(spm, modelMaxLength);
    }

    public override IReadOnlyList<int> TokenizeToIds(string text)
    {
        var ids = _spm.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false);
        var result = new List<int>(ids.Count);
        for (int i = 0; i < ids.Count; i++)
        {
            if (ids[i] == _spm.UnknownId)
            {
                // SentencePiece (and so transformers) emits one <unk> for a run of unknown characters ("42" -> <unk>);
                // Microsoft.ML.Tokenizers emits one per character.
                if (result.Count == 0 || result[^1] != FairseqUnk || ids[i - 1] != _spm.UnknownId)
                    result.Add(FairseqUnk);
            }
            else
                result.Add(ids[i] + FairseqOffset);
        }
        return result;
    }
}
