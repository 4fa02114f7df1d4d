using System.Globalization;
using Microsoft.Extensions.AI;

namespace MlNetLlm.Transforms.FeatureSelection;

/// <summary>
/// The local language prior: embeds the task (with the target and its kind) as a query and each feature's name and
/// description as a passage, and scores a feature by the cosine similarity of the two, rescaled so the candidates
/// span 0–1 (the most similar 1, the least 0). A semantic similarity, not a judgement of predictive value: a column
/// named like the task scores high whether or not it predicts anything. Needs no endpoint.
/// </summary>
internal sealed class EmbeddingFeatureScorer(IEmbeddingGenerator<string, Embedding<float>> generator, string? queryPrefix, string? modelName = null) : IFeaturePriorScorer
{
    /// <summary>The query instruction arctic-embed was trained with (query → passage retrieval); passages get none.</summary>
    public const string ArcticQueryPrefix = "Represent this sentence for searching relevant passages: ";

    public async Task<LlmScoringOutcome> ScoreAsync(IReadOnlyList<FeaturePrompt> features, PriorQuestion q, CancellationToken ct)
    {
        var outcome = new LlmScoringOutcome
        {
            ModelId = "local:" + (modelName ?? generator.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelId ?? generator.GetType().Name),
        };
        if (features.Count == 0) return outcome;
        var texts = features.Select(Passage).Prepend((queryPrefix ?? "") + Query(q)).ToList();
        var vectors = await generator.GenerateAsync(texts, cancellationToken: ct).ConfigureAwait(false);
        if (vectors.Count != texts.Count)
            throw new InvalidOperationException($"The embedding generator returned {vectors.Count} vectors for {texts.Count} texts.");
        var query = vectors[0].Vector.Span.ToArray();
        var similarity = features.Select((_, i) => Cosine(query, vectors[i + 1].Vector.Span.ToArray())).ToArray();
        double min = similarity.Min(), max = similarity.Max();
        for (int i = 0; i < features.Count; i++)
        {
            // One feature, or all equally similar: no ranking information, so every one gets the middle.
            double score = max - min > 1e-9 ? (similarity[i] - min) / (max - min) : 0.5;
            outcome.Scores[features[i].Name] = (score, $"cosine similarity {similarity[i].ToString("0.000", CultureInfo.InvariantCulture)} to the task (a semantic similarity, not a judgement)");
        }
        outcome.Notes.Add($"The language prior is local ({outcome.ModelId}): the cosine similarity of each column's name and description to the task, " +
                          "rescaled to 0–1 over the candidates; it measures how related the words are, not how predictive the column is.");
        return outcome;
    }

    internal static string Query(PriorQuestion q)
    {
        string target = Words(q.Label) + (string.IsNullOrWhiteSpace(q.LabelDescription) ? "" : ": " + q.LabelDescription.Trim());
        return $"{q.Task.Trim()} Target: {target} ({q.TaskKind}).";
    }

    /// <summary>Name with its separators as spaces (bill_length_mm → bill length mm), then the description.</summary>
    internal static string Passage(FeaturePrompt f) =>
        string.IsNullOrWhiteSpace(f.Description) ? Words(f.Name) : $"{Words(f.Name)}: {f.Description.Trim()}";

    /// <summary>Separators and camelCase boundaries as spaces (MonthlyIncome → Monthly Income), so the encoder sees words.</summary>
    internal static string Words(string name)
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (c is '_' or '.' or '-' or '/') { if (sb.Length > 0 && sb[^1] != ' ') sb.Append(' '); continue; }
            if (char.IsUpper(c) && i > 0 && char.IsLower(name[i - 1]) && sb.Length > 0 && sb[^1] != ' ') sb.Append(' ');
            sb.Append(c);
        }
        return sb.ToString().Trim();
    }

    private static double Cosine(float[] a, float[] b)
    {
        if (a.Length != b.Length) throw new InvalidOperationException($"Embeddings of different sizes ({a.Length} and {b.Length}).");
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return na > 0 && nb > 0 ? dot / Math.Sqrt(na * nb) : 0;
    }
}
