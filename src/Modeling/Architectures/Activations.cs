using static TorchSharp.torch;

namespace MlNetLlm.Modeling.Architectures;

/// <summary>The hidden activations named in Hugging Face configs (hidden_act / activation).</summary>
internal static class Activations
{
    public static readonly IReadOnlyList<string> Names = ["gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "silu", "swish"];

    public static bool IsSupported(string name) => Names.Contains(name);

    public static Tensor Apply(string name, Tensor x) => name switch
    {
        "gelu" => nn.functional.gelu(x), // exact (erf) GELU, as BERT was trained with
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        "relu" => nn.functional.relu(x),
        "silu" or "swish" => nn.functional.silu(x),
        _ => throw new NotSupportedException($"Activation '{name}' is not supported."),
    };
}
