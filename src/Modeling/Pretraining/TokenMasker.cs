using MlNetLlm.Tokenization;

namespace MlNetLlm.Modeling.Pretraining;

/// <summary>A padded batch with its masked inputs and labels ([rows, seq] row-major, like <see cref="TokenBatch"/>).</summary>
internal sealed record MaskedBatch(TokenBatch Batch, long[] MaskedIds, long[] Labels, int Masked);

/// <summary>
/// BERT's masking (Devlin et al. 2019, as transformers' DataCollatorForLanguageModeling does it): each token that is
/// not a special token (start, separator, padding, unknown, mask) is chosen with <see cref="Probability"/>; a chosen
/// token becomes the mask token 80% of the time, a random vocabulary token 10%, and stays itself 10%; the label is the
/// original token at chosen positions and <see cref="MaskedLanguageModel.IgnoreLabel"/> elsewhere. With whole-word
/// masking (WordPiece) a word's "##" continuation pieces are chosen together with its first piece. A batch where
/// nothing was chosen gets one chosen word, so every batch has a loss. Deterministic for a given
/// <see cref="Random"/>, so a resumed run masks exactly as an uninterrupted one.
/// </summary>
internal sealed class TokenMasker
{
    private readonly HashSet<int> _neverMasked;
    private readonly Func<int, bool>? _continuesWord;

    /// <param name="continuesWord">For whole-word masking: true for a token that continues the previous one's word
    /// (WordPiece's "##" pieces); null masks tokens independently.</param>
    public TokenMasker(int maskId, int vocabSize, IEnumerable<int> neverMasked, double probability, Func<int, bool>? continuesWord = null)
    {
        if (probability is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(probability), probability, "The mask probability must be in (0, 1).");
        MaskId = maskId;
        VocabSize = vocabSize;
        Probability = probability;
        _neverMasked = [.. neverMasked, maskId];
        _continuesWord = continuesWord;
    }

    public int MaskId { get; }
    public int VocabSize { get; }
    public double Probability { get; }
    public bool WholeWord => _continuesWord is not null;

    /// <summary>Whether a token may be chosen at all.</summary>
    public bool Maskable(int id) => !_neverMasked.Contains(id);

    public MaskedBatch Mask(TokenBatch batch, Random rng)
    {
        var ids = (long[])batch.InputIds.Clone();
        var labels = new long[ids.Length];
        Array.Fill(labels, MaskedLanguageModel.IgnoreLabel);
        var words = Words(batch);
        var chosen = words.Where(_ => rng.NextDouble() < Probability).ToList();
        if (chosen.Count == 0 && words.Count > 0) chosen.Add(words[rng.Next(words.Count)]);
        int masked = 0;
        foreach (var (start, end) in chosen)
        {
            for (int i = start; i < end; i++)
            {
                labels[i] = ids[i];
                double r = rng.NextDouble();
                if (r < 0.8) ids[i] = MaskId;
                else if (r < 0.9) ids[i] = rng.Next(VocabSize);
                masked++;
            }
        }
        return new MaskedBatch(batch, ids, labels, masked);
    }

    /// <summary>The units that are chosen or not as one: [start, end) flat positions of maskable tokens (whole words,
    /// or single tokens), in batch order.</summary>
    private List<(int Start, int End)> Words(TokenBatch batch)
    {
        var units = new List<(int, int)>();
        for (int r = 0; r < batch.BatchSize; r++)
        {
            int o = r * batch.SequenceLength;
            for (int j = 0; j < batch.SequenceLength; j++)
            {
                int i = o + j, id = (int)batch.InputIds[i];
                if (batch.AttentionMask[i] == 0 || !Maskable(id)) continue;
                bool continues = _continuesWord is not null && j > 0 && units.Count > 0 && units[^1].Item2 == i && _continuesWord(id);
                if (continues) units[^1] = (units[^1].Item1, i + 1);
                else units.Add((i, i + 1));
            }
        }
        return units;
    }

    /// <summary>Whether <paramref name="sequence"/> has any token masking may choose.</summary>
    public bool HasMaskable(int[] sequence) => sequence.Any(Maskable);
}
