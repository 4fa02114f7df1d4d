// Embeds its arguments with a checkpoint folder or model zip (args[0]) through the TorchSharp encoder.
using MlNetLlm.Transforms.Embeddings;

using var embedder = TextEmbeddingSource.Open(args[0]);
foreach (var v in embedder.Embed(args[1..])) Console.WriteLine(string.Join(' ', v.Take(4)));
