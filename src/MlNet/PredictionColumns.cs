using Microsoft.ML.Data;

namespace MlNetLlm.MlNet;

/// <summary>
/// The output columns of a text classifier or regressor, as ML.NET's evaluators expect them, and how raw model outputs
/// become their values. One definition for every scorer (TorchSharp and ONNX Runtime), so both give the same columns:
/// multiclass adds Score (class probabilities, slot names = classes) and PredictedLabel (key with the classes as key
/// values); binary adds Score (logit), Probability and PredictedLabel (bool); regression adds Score.
/// </summary>
public static class PredictionColumns
{
    /// <summary>ML.NET's default names of the score and predicted-label columns.</summary>
    public const string Score = "Score", PredictedLabel = "PredictedLabel";

    /// <summary>The calibrated probability a binary classifier adds beside its score (fixed, as ML.NET's binary trainers name it).</summary>
    public const string Probability = "Probability";

    public static IReadOnlyList<OutputColumn> Multiclass(IReadOnlyList<string> labelNames, string score = Score, string predictedLabel = PredictedLabel) =>
    [
        new(score, new VectorDataViewType(NumberDataViewType.Single, labelNames.Count), SchemaShapes.NamesAnnotation(SchemaShapes.SlotNamesKind, labelNames)),
        new(predictedLabel, new KeyDataViewType(typeof(uint), labelNames.Count), SchemaShapes.NamesAnnotation(SchemaShapes.KeyValuesKind, labelNames)),
    ];

    public static IReadOnlyList<OutputColumn> Binary(string score = Score, string predictedLabel = PredictedLabel) =>
    [
        new(score, NumberDataViewType.Single),
        new(Probability, NumberDataViewType.Single),
        new(predictedLabel, BooleanDataViewType.Instance),
    ];

    public static IReadOnlyList<OutputColumn> Regression(string score = Score) => [new(score, NumberDataViewType.Single)];

    /// <summary>Softmax probabilities and the 1-based key of the largest logit, per row.</summary>
    public static Array[] FromMulticlassLogits(float[][] raw)
    {
        var scores = new VBuffer<float>[raw.Length];
        var predicted = new uint[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            var logits = raw[i];
            float max = logits.Max();
            var p = logits.Select(v => MathF.Exp(v - max)).ToArray();
            float sum = p.Sum();
            for (int k = 0; k < p.Length; k++) p[k] /= sum;
            scores[i] = new VBuffer<float>(p.Length, p);
            predicted[i] = (uint)Array.IndexOf(logits, max) + 1; // keys are 1-based; 0 is missing
        }
        return [scores, predicted];
    }

    /// <summary>The logit, its sigmoid, and logit &gt; 0, per row.</summary>
    public static Array[] FromBinaryLogits(float[][] raw)
    {
        var score = raw.Select(r => r[0]).ToArray();
        var probability = score.Select(z => 1f / (1f + MathF.Exp(-z))).ToArray();
        var predicted = score.Select(z => z > 0).ToArray();
        return [score, probability, predicted];
    }

    /// <summary>Standardised outputs mapped back to the label's scale.</summary>
    public static Array[] FromStandardizedValues(float[][] raw, float mean, float std) => [raw.Select(r => r[0] * std + mean).ToArray()];

    /// <summary>Refuses non-finite outputs (damaged weights, diverged training) rather than returning them as scores.</summary>
    public static void CheckFinite(float[][] raw)
    {
        int bad = raw.Count(r => r.Any(v => !float.IsFinite(v)));
        if (bad > 0)
            throw new InvalidOperationException($"The text model produced non-finite scores (NaN or infinity) for {bad} of {raw.Length} rows: its weights are damaged or its training diverged. No scores are returned.");
    }
}
