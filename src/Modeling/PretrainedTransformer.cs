using MlNetLlm.Modeling.Architectures;
using MlNetLlm.Modeling.Checkpoints;
using MlNetLlm.Modeling.Runtime;
using MlNetLlm.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling;

/// <summary>
/// A Hugging Face encoder checkpoint loaded offline from a model folder: config.json, model.safetensors (or shards)
/// and the tokenizer files, on the device <see cref="DeviceOptions"/> picks.
/// </summary>
public sealed class PretrainedTransformer : IDisposable
{
    private PretrainedTransformer(string folder, TransformerConfig config, TransformerEncoder encoder, TextTokenizer tokenizer,
        IReadOnlyDictionary<string, byte[]> tokenizerFiles, EncoderLoadReport report, Device device) =>
        (Folder, Config, Encoder, Tokenizer, TokenizerFiles, LoadReport, Device) = (folder, config, encoder, tokenizer, tokenizerFiles, report, device);

    public string Folder { get; }
    public TransformerConfig Config { get; }
    internal TransformerEncoder Encoder { get; }
    public TextTokenizer Tokenizer { get; }
    /// <summary>The files <see cref="Tokenizer"/> was built from, by name (what a model zip stores to rebuild it).</summary>
    internal IReadOnlyDictionary<string, byte[]> TokenizerFiles { get; }
    public EncoderLoadReport LoadReport { get; }
    public Device Device { get; }

    /// <summary>Loads config, tokenizer and weights (tokenizer first, so a missing file fails before weights are read).</summary>
    /// <param name="folder">A save_pretrained folder, or the name of a bundled model (minilm, arctic-xs; <see cref="CheckpointLocator"/>).</param>
    public static PretrainedTransformer Load(string folder, DeviceOptions? device = null)
    {
        var torchDevice = (device ?? DeviceOptions.Cpu).Resolve();
        folder = CheckpointLocator.Resolve(folder);
        var config = TransformerConfig.Load(Path.Combine(folder, "config.json"));
        var tokenizerFiles = TokenizerLoader.ReadFiles(folder);
        var tokenizer = TokenizerLoader.Load(tokenizerFiles, config, TokenizerLoader.Current, folder);
        var (encoder, report) = EncoderCheckpoint.Load(config, folder);
        if (torchDevice.type != DeviceType.CPU)
            encoder.to(torchDevice);
        return new PretrainedTransformer(folder, config, encoder, tokenizer, tokenizerFiles, report, torchDevice);
    }

    /// <summary>Tokenizes texts (and optional second texts of pairs; a null entry means no pair) into one right-padded batch.</summary>
    public TokenBatch Tokenize(IReadOnlyList<string> texts, IReadOnlyList<string?>? pairs = null, int? maxLength = null)
    {
        if (pairs is not null && pairs.Count != texts.Count)
            throw new ArgumentException($"{texts.Count} texts but {pairs.Count} pair texts.", nameof(pairs));
        var rows = new EncodedText[texts.Count];
        for (int i = 0; i < rows.Length; i++)
            rows[i] = Tokenizer.Encode(texts[i], pairs?[i], maxLength);
        return TokenBatch.Pad(rows, Tokenizer.Special.Padding);
    }

    /// <summary>Runs the encoder without gradients, its products in <paramref name="precision"/> (resolved: Fp32 or Bf16;
    /// the outputs are fp32 either way). The caller disposes the output (or runs inside a dispose scope).</summary>
    public EncoderOutput Forward(TokenBatch batch, Precision precision = Precision.Fp32)
    {
        using var noGrad = no_grad();
        using var autocast = Autocast.Enter(precision, weights: null);
        using var scope = NewDisposeScope();
        var input = batch.ToEncoderInput(Device, withTokenTypes: Config.TypeVocabSize > 0);
        var output = Encoder.forward(input);
        output.LastHiddenState.MoveToOuterDisposeScope();
        output.PoolerOutput?.MoveToOuterDisposeScope();
        return output;
    }

    public void Dispose() => Encoder.Dispose();
}
