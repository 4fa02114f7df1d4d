// Embeds its arguments with a folder export-onnx wrote (args[0]) on ONNX Runtime: no TorchSharp, no libtorch.
using MlNetLlm.Onnx;

using var embedder = new Microsoft.ML.MLContext().Transforms.Text.OnnxTextEmbedding(new OnnxTextEmbeddingOptions { ModelFolder = args[0] }).Create();
foreach (var v in embedder.Embed(args[1..])) Console.WriteLine(string.Join(' ', v.Take(4)));
