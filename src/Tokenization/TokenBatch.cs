namespace MlNetLlm.Tokenization;

/// <summary>Encoded texts right-padded to the longest one: row-major [batch, seq] arrays, what an encoder
/// (TorchSharp tensors, ONNX Runtime inputs) is fed.</summary>
public sealed class TokenBatch
{
    private TokenBatch(int batchSize, int sequenceLength, long[] inputIds, long[] attentionMask, long[] tokenTypeIds) =>
        (BatchSize, SequenceLength, InputIds, AttentionMask, TokenTypeIds) = (batchSize, sequenceLength, inputIds, attentionMask, tokenTypeIds);

    public int BatchSize { get; }
    public int SequenceLength { get; }
    public long[] InputIds { get; }
    public long[] AttentionMask { get; }
    public long[] TokenTypeIds { get; }

    /// <summary>Pads to the longest row (dynamic padding): no batch is wider than it needs to be.</summary>
    public static TokenBatch Pad(IReadOnlyList<EncodedText> rows, int padId)
    {
        if (rows.Count == 0) throw new ArgumentException("A batch needs at least one row.", nameof(rows));
        int seq = rows.Max(r => r.Length);
        var ids = new long[rows.Count * seq];
        var mask = new long[rows.Count * seq];
        var types = new long[rows.Count * seq];
        Array.Fill(ids, padId);
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            int o = r * seq;
            for (int j = 0; j < row.Length; j++)
            {
                ids[o + j] = row.InputIds[j];
                mask[o + j] = 1;
                types[o + j] = row.TokenTypeIds[j];
            }
        }
        return new TokenBatch(rows.Count, seq, ids, mask, types);
    }
}
