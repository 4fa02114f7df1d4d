using MlNetLlm.AutoMl.Selection;

namespace MlNetLlm.AutoMl.Tests;

/// <summary>The best-of-several-trials correction and what it does to the pick.</summary>
public class SelectionOptimismTests
{
    private static double[] Correct(int n, Func<int, bool> right) => Enumerable.Range(0, n).Select(i => right(i) ? 1.0 : 0.0).ToArray();

    [Fact]
    public void One_trial_or_identical_trials_have_no_luck_to_correct()
    {
        var one = Correct(400, i => i % 10 < 7);
        Assert.Equal(0, SelectionOptimism.Estimate([one]));
        Assert.Equal(0, SelectionOptimism.Estimate([one, one, one]), 12);
    }

    [Fact]
    public void The_best_of_twenty_equally_good_noisy_trials_is_corrected_towards_their_true_accuracy()
    {
        // Twenty trials, each right on each row with probability 0.7 independently: every one is truly 0.70, and the best
        // of them on 400 rows looks better by the luck of the choice (about 1.9 standard errors, ~0.04).
        var rng = new Random(3);
        var trials = Enumerable.Range(0, 20).Select(_ => Correct(400, _ => rng.NextDouble() < 0.7)).ToList<IReadOnlyList<double>>();
        double best = trials.Max(t => t.Average());
        double optimism = SelectionOptimism.Estimate(trials);
        Assert.InRange(optimism, 0.01, 0.08);
        Assert.True(Math.Abs(best - optimism - 0.7) < Math.Abs(best - 0.7), $"best {best:F4}, correction {optimism:F4}");
    }

    [Fact]
    public void A_cheap_candidate_ahead_only_by_the_luck_of_many_trials_does_not_win_the_tie()
    {
        // The pretrained model: one trial, 0.82 on 800 rows. The cheap one: 0.80 as the best of many trials. Raw, the
        // difference (0.02 over 176 discordant rows) is a tie, so the cheaper model would be kept; once the cheap one's
        // best-of-many luck (0.04 here) is taken off, the pretrained model is clearly ahead.
        var pretrained = Correct(800, i => i % 100 < 82);
        var cheap = Correct(800, i => i % 100 < 70 || i % 100 is >= 82 and < 92);
        var raw = ModelPick.Choose([new(1, "fine-tune", 0.82, 2, pretrained), new(2, "tfidf+sdca", 0.80, 0, cheap)]);
        Assert.Equal("tfidf+sdca", raw.ChosenCandidate);
        var corrected = ModelPick.Choose([new(1, "fine-tune", 0.82, 2, pretrained), new(2, "tfidf+sdca", 0.80, 0, cheap, Optimism: 0.04)]);
        Assert.Equal("fine-tune", corrected.ChosenCandidate);
        Assert.True(corrected.Comparison!.ClearlyAhead, corrected.Reason);
        Assert.Equal(0.06, corrected.Comparison.Difference, 9);
        Assert.Contains("tfidf+sdca 0.8000 - 0.0400", corrected.Reason);
    }
}
