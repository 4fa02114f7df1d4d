using MlNetLlm.Tokenization;
using MlNetLlm.Modeling.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Tests;

public class SafeTensorsTests
{
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    public void Round_trips_and_converts_half_precision_to_fp32(ScalarType stored)
    {
        using var dir = new Fixtures.TempDir();
        torch.manual_seed(1);
        using var original = randn(3, 5).to_type(stored);
        using var ids = arange(7, dtype: ScalarType.Int64);
        SafeTensorsWriter.Write(dir.File("w.safetensors"), new Dictionary<string, Tensor> { ["a.weight"] = original, ["ids"] = ids });

        using var file = SafeTensorsFile.Open(dir.File("w.safetensors"));
        Assert.Equal([3L, 5L], file.Tensors["a.weight"].Shape);
        using var read = file.Read("a.weight");
        Assert.Equal(ScalarType.Float32, read.dtype);
        using var expected = original.to_type(ScalarType.Float32);
        Assert.True(read.allclose(expected, rtol: 0, atol: 0));
        using var readIds = file.Read("ids");
        Assert.Equal(ScalarType.Int64, readIds.dtype);
        Assert.Equal(21L, readIds.sum().item<long>());
    }

    [Fact]
    public void Truncated_file_is_reported_with_the_tensor_and_file()
    {
        var ex = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(Fixtures.Broken("truncated.safetensors")));
        Assert.Contains("truncated.safetensors", ex.Message);
        Assert.Contains("corrupt", ex.Message);
        Assert.NotNull(ex.Key);
        Assert.Contains(ex.Key!, ex.Message);
    }

    [Fact]
    public void Header_length_past_the_end_is_reported()
    {
        var ex = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(Fixtures.Broken("bad-header.safetensors")));
        Assert.Contains("header length", ex.Message);
        Assert.Contains("bad-header.safetensors", ex.Message);
    }

    [Fact]
    public void Garbage_json_header_and_tiny_files_are_reported()
    {
        using var dir = new Fixtures.TempDir();
        var garbage = dir.File("garbage.safetensors");
        byte[] json = "{not json at all"u8.ToArray();
        File.WriteAllBytes(garbage, [.. BitConverter.GetBytes((long)json.Length), .. json]);
        var ex = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(garbage));
        Assert.Contains("JSON header", ex.Message);

        var tiny = dir.File("tiny.safetensors");
        File.WriteAllBytes(tiny, [1, 2, 3]);
        Assert.Contains("shorter than", Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(tiny)).Message);
    }

    [Fact]
    public void Byte_count_that_disagrees_with_shape_is_reported()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("wrong.safetensors");
        byte[] json = """{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"""u8.ToArray();
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((long)json.Length), .. json, .. new byte[12]]);
        var ex = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(path));
        Assert.Equal("w", ex.Key);
        Assert.Contains("needs 16 bytes", ex.Message);
    }
}
