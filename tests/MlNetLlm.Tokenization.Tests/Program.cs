namespace MlNetLlm.Tokenization.Tests;

/// <summary>Entry point when a test runs this assembly as a program (the test host does not use it): hf-char-classes FILE regenerates src/Tokenization/HuggingFaceCharClasses.g.cs.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "hf-char-classes")
        {
            // Regenerates src/Tokenization/HuggingFaceCharClasses.g.cs by probing Hugging Face's tokenizers.
            string folder = Directory.CreateTempSubdirectory("mlnetllm-probe-").FullName;
            File.WriteAllText(args[1], HuggingFaceCharProbe.ToSource(HuggingFaceCharProbe.Differences(folder)));
            Directory.Delete(folder, recursive: true);
            return 0;
        }
        Console.Error.WriteLine("usage: hf-char-classes FILE");
        return 2;
    }
}
