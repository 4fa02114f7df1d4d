using MlNetLlm.Tokenization;
using MlNetLlm.Modeling;
using MlNetLlm.Modeling.Checkpoints;

namespace MlNetLlm.Modeling.Tests;

/// <summary>Every broken checkpoint fails with a message that names the file, the key and both shapes where relevant.</summary>
public class CheckpointErrorTests
{
    [Fact]
    public void Shape_that_disagrees_with_config_names_key_and_both_shapes()
    {
        var ex = Assert.Throws<CheckpointException>(() => PretrainedTransformer.Load(Fixtures.Broken("shape-mismatch")));
        Assert.Equal("encoder.layer.0.intermediate.dense.weight", ex.Key);
        Assert.Contains("[48, 32]", ex.Message);
        Assert.Contains("[64, 32]", ex.Message);
        Assert.Contains("config.json", ex.Message);
    }

    [Fact]
    public void Missing_key_is_named()
    {
        var ex = Assert.Throws<CheckpointException>(() => PretrainedTransformer.Load(Fixtures.Broken("missing-key")));
        Assert.Equal("encoder.layer.1.output.dense.bias", ex.Key);
        Assert.Contains("missing encoder key", ex.Message);
    }

    [Fact]
    public void Unexpected_encoder_key_is_named()
    {
        var ex = Assert.Throws<CheckpointException>(() => PretrainedTransformer.Load(Fixtures.Broken("unexpected-key")));
        Assert.Equal("encoder.layer.0.attention.self.extra.weight", ex.Key);
        Assert.Contains("unexpected encoder key", ex.Message);
    }

    [Fact]
    public void Missing_tokenizer_file_names_the_file_and_what_is_needed()
    {
        var ex = Assert.Throws<CheckpointException>(() => PretrainedTransformer.Load(Fixtures.Broken("no-tokenizer")));
        Assert.Contains("'vocab.txt' is missing", ex.Message);
        Assert.Contains("no-tokenizer", ex.Message);
    }

    [Fact]
    public void Missing_roberta_merges_is_named()
    {
        using var dir = new Fixtures.TempDir();
        string copy = Fixtures.CopyCheckpoint("tiny-roberta", dir);
        File.Delete(Path.Combine(copy, "merges.txt"));
        var ex = Assert.Throws<CheckpointException>(() => PretrainedTransformer.Load(copy));
        Assert.Contains("merges.txt", ex.Message);
    }

    [Fact]
    public void Corrupt_weights_in_a_folder_name_the_file()
    {
        using var dir = new Fixtures.TempDir();
        string copy = Fixtures.CopyCheckpoint("tiny-bert", dir);
        string weights = Path.Combine(copy, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<CheckpointException>(() => PretrainedTransformer.Load(copy));
        Assert.Contains("model.safetensors", ex.Message);
        Assert.Contains("corrupt", ex.Message);
    }

    [Fact]
    public void Missing_shard_is_named()
    {
        using var dir = new Fixtures.TempDir();
        string copy = Fixtures.CopyCheckpoint("tiny-bert-seqcls-fp16-sharded", dir);
        File.Delete(Path.Combine(copy, "model-00002-of-00002.safetensors"));
        var ex = Assert.Throws<CheckpointException>(() => PretrainedTransformer.Load(copy));
        Assert.Contains("model-00002-of-00002.safetensors", ex.Message);
    }

    [Fact]
    public void Folder_without_weights_points_at_safetensors_conversion()
    {
        using var dir = new Fixtures.TempDir();
        string copy = Fixtures.CopyCheckpoint("tiny-bert", dir);
        File.Move(Path.Combine(copy, "model.safetensors"), Path.Combine(copy, "pytorch_model.bin"));
        var ex = Assert.Throws<CheckpointException>(() => PretrainedTransformer.Load(copy));
        Assert.Contains("pytorch_model.bin", ex.Message);
        Assert.Contains("safetensors", ex.Message);
    }

    [Fact]
    public void Unsupported_model_type_and_bad_config_are_named()
    {
        using var dir = new Fixtures.TempDir();
        string copy = Fixtures.CopyCheckpoint("tiny-bert", dir);
        string config = Path.Combine(copy, "config.json");
        string original = File.ReadAllText(config);

        File.WriteAllText(config, original.Replace("\"bert\"", "\"gpt2\""));
        Assert.Contains("gpt2", Assert.Throws<CheckpointException>(() => PretrainedTransformer.Load(copy)).Message);

        File.WriteAllText(config, original.Replace("\"num_attention_heads\": 4", "\"num_attention_heads\": 5"));
        Assert.Contains("not divisible", Assert.Throws<CheckpointException>(() => PretrainedTransformer.Load(copy)).Message);

        File.WriteAllText(config, "{ broken");
        Assert.Contains("config.json", Assert.Throws<CheckpointException>(() => PretrainedTransformer.Load(copy)).Message);

        Assert.Contains("does not exist", Assert.Throws<CheckpointException>(() => PretrainedTransformer.Load(Path.Combine(dir.Path, "nope"))).Message);
    }

    [Fact]
    public void Legacy_gamma_beta_layer_norm_names_load()
    {
        using var dir = new Fixtures.TempDir();
        string copy = Fixtures.CopyCheckpoint("tiny-bert", dir);
        string weights = Path.Combine(copy, "model.safetensors");
        var renamed = new Dictionary<string, TorchSharp.torch.Tensor>();
        using (var st = SafeTensorsFile.Open(weights))
            foreach (var name in st.Tensors.Keys)
                renamed[name.Contains("LayerNorm") ? name.Replace(".weight", ".gamma").Replace(".bias", ".beta") : name] = st.Read(name);
        SafeTensorsWriter.Write(weights, renamed);
        foreach (var t in renamed.Values) t.Dispose();

        using var model = PretrainedTransformer.Load(copy);
        using var reference = PretrainedTransformer.Load(Fixtures.Checkpoint("tiny-bert"));
        var batch = reference.Tokenize(["hello world"]);
        using var a = model.Forward(batch);
        using var b = reference.Forward(batch);
        Assert.True(a.LastHiddenState.allclose(b.LastHiddenState, rtol: 0, atol: 0));
    }
}
