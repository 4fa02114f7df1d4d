using MlNetLlm.Tokenization;

namespace MlNetLlm.Tokenization.Tests;

/// <summary>WordPiece on the real bert-base-uncased vocabulary, checked against its known ids and transformers' behaviour.</summary>
public class TokenizerTests
{
    private static readonly Lazy<WordPieceTextTokenizer> Bert = new(() => WordPieceTextTokenizer.Create(Fixtures.BertVocab, lowerCase: true));
    private static readonly Lazy<string[]> Vocab = new(() => File.ReadAllLines(Fixtures.BertVocab));

    private static string[] Tokens(IEnumerable<int> ids) => ids.Select(i => Vocab.Value[i]).ToArray();

    [Fact]
    public void Known_ids_of_the_real_vocabulary()
    {
        var t = Bert.Value;
        Assert.Equal(101, t.Special.Start);
        Assert.Equal(102, t.Special.Separator);
        Assert.Equal(0, t.Special.Padding);
        Assert.Equal(100, t.Special.Unknown);
        Assert.Equal([1996], t.TokenizeToIds("the"));
        Assert.Equal(2015, Array.IndexOf(Vocab.Value, "##s"));
        Assert.Equal([101, 7592, 1010, 2088, 999, 102], t.Encode("Hello, world!").InputIds);
    }

    [Fact]
    public void Lower_cases_and_strips_accents_like_uncased_bert()
    {
        var t = Bert.Value;
        Assert.Equal(t.TokenizeToIds("hello world"), t.TokenizeToIds("HÉLLO Wörld"));
        // Greedy longest-match-first WordPiece: this vocabulary has "una" and "##ffa" (no "##aff").
        Assert.Equal(["una", "##ffa", "##ble"], Tokens(t.TokenizeToIds("unaffable")));
        Assert.Equal(["token", "##ization"], Tokens(t.TokenizeToIds("Tokenization")));
        Assert.Equal(["the", "cats"], Tokens(t.TokenizeToIds("The cats")));
    }

    [Fact]
    public void Cased_option_keeps_case()
    {
        var cased = WordPieceTextTokenizer.Create(Fixtures.BertVocab, lowerCase: false);
        // The uncased vocabulary has no "Hello": a cased tokenizer must not find it and falls back to pieces or [UNK].
        Assert.NotEqual(Bert.Value.TokenizeToIds("Hello"), cased.TokenizeToIds("Hello"));
    }

    [Fact]
    public void Pairs_get_separators_and_token_types()
    {
        var e = Bert.Value.Encode("How are you?", "I am fine.");
        Assert.Equal(["[CLS]", "how", "are", "you", "?", "[SEP]", "i", "am", "fine", ".", "[SEP]"], Tokens(e.InputIds));
        Assert.Equal([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1], e.TokenTypeIds);
    }

    [Fact]
    public void Truncates_to_max_length_keeping_special_tokens()
    {
        string longText = string.Join(' ', Enumerable.Repeat("the quick brown fox", 50));
        var e = Bert.Value.Encode(longText, maxLength: 16);
        Assert.Equal(16, e.Length);
        Assert.Equal(101, e.InputIds[0]);
        Assert.Equal(102, e.InputIds[^1]);
        Assert.Equal(Bert.Value.TokenizeToIds(longText).Take(14), e.InputIds[1..^1]);
    }

    [Fact]
    public void Pair_truncation_is_longest_first()
    {
        string a = string.Join(' ', Enumerable.Repeat("cat", 20));
        string b = "dog dog";
        var e = Bert.Value.Encode(a, b, maxLength: 10);
        Assert.Equal(10, e.Length);
        Assert.Equal(["[CLS]", "cat", "cat", "cat", "cat", "cat", "[SEP]", "dog", "dog", "[SEP]"], Tokens(e.InputIds));
    }

    [Fact]
    public void Model_max_length_caps_requests()
    {
        string longText = string.Join(' ', Enumerable.Repeat("word", 1000));
        Assert.Equal(512, Bert.Value.Encode(longText).Length);
        Assert.Equal(512, Bert.Value.Encode(longText, maxLength: 4096).Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    [InlineData(2)]
    public void Max_length_without_room_for_text_is_rejected(int maxLength)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Bert.Value.Encode("hello", maxLength: maxLength));
        Assert.Equal("maxLength", ex.ParamName);
    }

    [Fact]
    public void Empty_text_gives_only_special_tokens_and_null_is_rejected()
    {
        Assert.Equal([101, 102], Bert.Value.Encode("").InputIds);
        Assert.Throws<ArgumentNullException>(() => Bert.Value.Encode(null!));
    }

    [Fact]
    public void Padding_builds_mask_and_keeps_rows()
    {
        var rows = new[] { Bert.Value.Encode("hello"), Bert.Value.Encode("hello world again") };
        var batch = TokenBatch.Pad(rows, Bert.Value.Special.Padding);
        Assert.Equal(2, batch.BatchSize);
        Assert.Equal(rows[1].Length, batch.SequenceLength);
        Assert.Equal([1, 1, 1, 0, 0], batch.AttentionMask.Take(batch.SequenceLength));
        Assert.Equal([101, 7592, 102, 0, 0], batch.InputIds.Take(batch.SequenceLength));
    }
}

/// <summary>Real XLM-R ships a Unigram SentencePiece model: ids must match the sentencepiece library's.</summary>
[Trait("Category", "Reference")]
public class UnigramSentencePieceTests
{
    private sealed record Expected(string[] Texts, int[][] ExpectedIds);

    [Fact]
    public void Unigram_model_gives_sentencepiece_ids_with_the_fairseq_offset()
    {
        string folder = Path.Combine(Fixtures.Root, "tokenizers", "xlmr-unigram");
        var expected = System.Text.Json.JsonSerializer.Deserialize<Expected>(File.ReadAllText(Path.Combine(folder, "expected.json")),
            new System.Text.Json.JsonSerializerOptions { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower })!;
        var tokenizer = XlmRobertaTextTokenizer.Create(Path.Combine(folder, "sentencepiece.bpe.model"));
        for (int i = 0; i < expected.Texts.Length; i++)
            Assert.Equal(expected.ExpectedIds[i], tokenizer.Encode(expected.Texts[i]).InputIds);
    }

    [Fact]
    public void Runs_of_unknown_characters_become_one_unk_as_in_sentencepiece()
    {
        // sentencepiece 0.1.97 on the tiny-xlmr BPE model: 'x 42 qqzz ©®' -> [56,107,56,0,56,105,105,87,87,56,0] (0 = unk).
        var tokenizer = XlmRobertaTextTokenizer.Create(Path.Combine(Fixtures.Checkpoint("tiny-xlmr"), "sentencepiece.bpe.model"));
        Assert.Equal([0, 57, 108, 57, 3, 57, 106, 106, 88, 88, 57, 3, 2], tokenizer.Encode("x 42 qqzz ©®").InputIds);
    }
}
