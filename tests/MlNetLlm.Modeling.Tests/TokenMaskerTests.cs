using MlNetLlm.Modeling.Pretraining;
using MlNetLlm.Tokenization;

namespace MlNetLlm.Modeling.Tests;

/// <summary>BERT's masking rule, counted over many tokens: 15% chosen, of those 80% [MASK], 10% random, 10% kept.</summary>
public class TokenMaskerTests
{
    private const int Pad = 0, Unk = 1, Cls = 2, Sep = 3, Mask = 4, Vocab = 1000;

    /// <summary>Rows of random lengths (so there is padding) of ids 5..Vocab-1, [CLS] ... [SEP], a few [UNK]s.</summary>
    private static TokenBatch Batch(int rows, int seed)
    {
        var rng = new Random(seed);
        var list = new List<EncodedText>();
        for (int r = 0; r < rows; r++)
        {
            var ids = new int[rng.Next(10, 64)];
            for (int j = 0; j < ids.Length; j++) ids[j] = rng.NextDouble() < 0.02 ? Unk : rng.Next(5, Vocab);
            ids[0] = Cls;
            ids[^1] = Sep;
            list.Add(new EncodedText(ids, new int[ids.Length]));
        }
        return TokenBatch.Pad(list, Pad);
    }

    private static TokenMasker Masker(Func<int, bool>? continues = null) => new(Mask, Vocab, [Pad, Unk, Cls, Sep], 0.15, continues);

    [Fact]
    public void Chooses_15_percent_of_the_ordinary_tokens_and_replaces_them_80_10_10()
    {
        var batch = Batch(400, seed: 3);
        var m = Masker().Mask(batch, new Random(11));
        int ordinary = 0, chosen = 0, asMask = 0, kept = 0, other = 0;
        for (int i = 0; i < batch.InputIds.Length; i++)
        {
            long id = batch.InputIds[i];
            bool maskable = batch.AttentionMask[i] == 1 && id > Mask;
            if (maskable) ordinary++;
            if (m.Labels[i] == MaskedLanguageModel.IgnoreLabel)
            {
                Assert.Equal(id, m.MaskedIds[i]); // a position not chosen is never changed
                continue;
            }
            Assert.True(maskable, $"position {i} (id {id}) is a special token or padding but was chosen");
            Assert.Equal(id, m.Labels[i]);
            chosen++;
            if (m.MaskedIds[i] == Mask) asMask++;
            else if (m.MaskedIds[i] == id) kept++;
            else other++;
        }
        Assert.Equal(chosen, m.Masked);
        // ~14,000 ordinary tokens: the binomial standard deviation of the chosen share is 0.3 points.
        Assert.InRange((double)chosen / ordinary, 0.14, 0.16);
        Assert.InRange((double)asMask / chosen, 0.76, 0.84);
        Assert.InRange((double)kept / chosen, 0.07, 0.13);
        Assert.InRange((double)other / chosen, 0.07, 0.13);
    }

    [Fact]
    public void The_same_random_stream_gives_the_same_masks()
    {
        var batch = Batch(20, seed: 4);
        var a = Masker().Mask(batch, new Random(5));
        var b = Masker().Mask(batch, new Random(5));
        var c = Masker().Mask(batch, new Random(6));
        Assert.Equal(a.MaskedIds, b.MaskedIds);
        Assert.Equal(a.Labels, b.Labels);
        Assert.NotEqual(a.Labels, c.Labels);
    }

    [Fact]
    public void Whole_word_masking_chooses_a_word_with_all_its_continuation_pieces()
    {
        // Ids >= 500 stand for "##" pieces: each continues the word before it.
        static bool Continues(int id) => id >= 500;
        var batch = Batch(300, seed: 8);
        var m = Masker(Continues).Mask(batch, new Random(9));
        int continuations = 0;
        for (int i = 1; i < batch.InputIds.Length; i++)
        {
            if (batch.AttentionMask[i] == 0 || batch.InputIds[i] <= Mask || !Continues((int)batch.InputIds[i])) continue;
            if (batch.InputIds[i - 1] <= Mask || batch.AttentionMask[i - 1] == 0) continue; // the word starts here
            bool previous = m.Labels[i - 1] != MaskedLanguageModel.IgnoreLabel, self = m.Labels[i] != MaskedLanguageModel.IgnoreLabel;
            Assert.True(previous == self, $"position {i}: a piece and the piece before it in the same word were chosen apart");
            if (self) continuations++;
        }
        Assert.True(continuations > 50, $"only {continuations} continuation pieces chosen: the test saw too few words");
        // Without the word rule the same batch splits words.
        var independent = Masker().Mask(batch, new Random(9));
        bool split = Enumerable.Range(1, batch.InputIds.Length - 1).Any(i => batch.AttentionMask[i] == 1 && Continues((int)batch.InputIds[i])
            && batch.InputIds[i - 1] > Mask && (independent.Labels[i] == MaskedLanguageModel.IgnoreLabel) != (independent.Labels[i - 1] == MaskedLanguageModel.IgnoreLabel));
        Assert.True(split);
    }

    [Fact]
    public void A_batch_where_chance_chose_nothing_still_gets_one_word()
    {
        var rows = new List<EncodedText> { new([Cls, 10, Sep], [0, 0, 0]) };
        var batch = TokenBatch.Pad(rows, Pad);
        for (int seed = 0; seed < 20; seed++)
        {
            var m = Masker().Mask(batch, new Random(seed));
            Assert.Equal(1, m.Masked);
            Assert.Equal(10, m.Labels[1]);
        }
    }
}
