using Cria.Generation;

namespace Cria.Tests.Generation;

public class SamplerTests
{
    private static float[] Logits(params float[] values) => values;

    private static Dictionary<int, int> Histogram(SamplerOptions options, float[] logits, int draws)
    {
        var sampler = new Sampler(options, logits.Length);
        var counts = new Dictionary<int, int>();
        for (int i = 0; i < draws; i++)
        {
            int id = sampler.Sample(logits);
            counts[id] = counts.GetValueOrDefault(id) + 1;
        }
        return counts;
    }

    [Fact]
    public void Temperature_zero_is_argmax_with_ties_to_the_lowest_id()
    {
        var sampler = new Sampler(SamplerOptions.Greedy, 5);
        Assert.Equal(3, sampler.Sample(Logits(0, 1, 2, 5, 4)));
        Assert.Equal(1, sampler.Sample(Logits(0, 7, 2, 7, 4)));
    }

    [Fact]
    public void Same_seed_gives_the_same_sequence_and_another_seed_differs()
    {
        var logits = Enumerable.Range(0, 100).Select(i => MathF.Sin(i)).ToArray();
        var options = new SamplerOptions { Temperature = 1.5f, TopK = 0, TopP = 1, MinP = 0, Seed = 42 };
        int[] Run(SamplerOptions o)
        {
            var s = new Sampler(o, logits.Length);
            return Enumerable.Range(0, 200).Select(_ => s.Sample(logits)).ToArray();
        }
        Assert.Equal(Run(options), Run(options));
        Assert.NotEqual(Run(options), Run(options with { Seed = 43 }));
    }

    [Fact]
    public void Draws_follow_the_softmax_at_the_given_temperature()
    {
        var logits = Logits(0f, MathF.Log(2), MathF.Log(4)); // probabilities 1/7, 2/7, 4/7 at temperature 1
        var counts = Histogram(new SamplerOptions { Temperature = 1, TopK = 0, TopP = 1, MinP = 0, Seed = 7 }, logits, 70000);
        Assert.InRange(counts[0], 9000, 11000);
        Assert.InRange(counts[1], 19000, 21000);
        Assert.InRange(counts[2], 39000, 41000);
        // Temperature 2 flattens: probabilities ∝ 1, √2, 2.
        counts = Histogram(new SamplerOptions { Temperature = 2, TopK = 0, TopP = 1, MinP = 0, Seed = 7 }, logits, 70000);
        double z = 1 + Math.Sqrt(2) + 2;
        Assert.InRange(counts[0], 70000 / z * 0.95, 70000 / z * 1.05);
        Assert.InRange(counts[2], 70000 * 2 / z * 0.97, 70000 * 2 / z * 1.03);
    }

    [Fact]
    public void Top_k_keeps_only_the_k_most_likely()
    {
        var logits = Logits(1, 5, 3, 4, 2);
        var counts = Histogram(new SamplerOptions { Temperature = 5, TopK = 2, TopP = 1, MinP = 0, Seed = 1 }, logits, 2000);
        Assert.Equal(new[] { 1, 3 }, counts.Keys.Order().ToArray());
    }

    [Fact]
    public void Top_p_keeps_the_smallest_prefix_reaching_p_measured_before_temperature()
    {
        // Probabilities 0.5, 0.25, 0.125, 0.125: p = 0.7 keeps the first two.
        var logits = Logits(MathF.Log(4), MathF.Log(2), 0, 0);
        var counts = Histogram(new SamplerOptions { Temperature = 10, TopK = 0, TopP = 0.7f, MinP = 0, Seed = 3 }, logits, 3000);
        Assert.Equal(new[] { 0, 1 }, counts.Keys.Order().ToArray());
        counts = Histogram(new SamplerOptions { Temperature = 10, TopK = 0, TopP = 0.8f, MinP = 0, Seed = 3 }, logits, 3000);
        Assert.Equal(3, counts.Count); // 0.5 + 0.25 < 0.8: a third token is needed; ties keep the lower id
        Assert.DoesNotContain(3, counts.Keys);
    }

    [Fact]
    public void Min_p_drops_tokens_below_the_fraction_of_the_best()
    {
        // Probabilities ∝ 1, 0.5, 0.2, 0.05: min-p 0.1 drops the last.
        var logits = Logits(0, MathF.Log(0.5f), MathF.Log(0.2f), MathF.Log(0.05f));
        var counts = Histogram(new SamplerOptions { Temperature = 1, TopK = 0, TopP = 1, MinP = 0.1f, Seed = 5 }, logits, 5000);
        Assert.Equal(new[] { 0, 1, 2 }, counts.Keys.Order().ToArray());
    }

    [Fact]
    public void Repeat_penalty_divides_positive_and_multiplies_negative_logits_of_recent_tokens_once()
    {
        var sampler = new Sampler(new SamplerOptions { Temperature = 0, RepeatPenalty = 2, RepeatLastN = 3 }, 4);
        foreach (int t in new[] { 0, 0, 0 }) sampler.Accept(t); // seen three times: penalised once
        Assert.Equal(1, sampler.Sample(Logits(3, 2, 0, -1)));  // 3/2 = 1.5 < 2
        sampler = new Sampler(new SamplerOptions { Temperature = 0, RepeatPenalty = 2, RepeatLastN = 3 }, 3);
        sampler.Accept(0);
        Assert.Equal(1, sampler.Sample(Logits(-1, -1.5f, -3))); // -1·2 = -2 < -1.5
        foreach (int t in new[] { 2, 2, 2 }) sampler.Accept(t); // token 0 has left the window of 3
        Assert.Equal(0, sampler.Sample(Logits(-1, -1.5f, -3)));
    }

    [Theory]
    [InlineData(-1f, 40, 0.9f, 0.05f, 1f)]
    [InlineData(0.8f, -1, 0.9f, 0.05f, 1f)]
    [InlineData(0.8f, 40, 0f, 0.05f, 1f)]
    [InlineData(0.8f, 40, 1.5f, 0.05f, 1f)]
    [InlineData(0.8f, 40, 0.9f, -0.1f, 1f)]
    [InlineData(0.8f, 40, 0.9f, 0.05f, 0f)]
    [InlineData(float.NaN, 40, 0.9f, 0.05f, 1f)]
    public void Settings_out_of_range_are_refused_with_a_clear_error(float temperature, int topK, float topP, float minP, float penalty)
    {
        var options = new SamplerOptions { Temperature = temperature, TopK = topK, TopP = topP, MinP = minP, RepeatPenalty = penalty };
        var e = Assert.Throws<CriaException>(() => new Sampler(options, 10));
        Assert.Matches("temperature|top-k|top-p|min-p|repeat penalty", e.Message);
    }

    [Fact]
    public void Sampling_allocates_nothing()
    {
        var logits = Enumerable.Range(0, 32000).Select(i => MathF.Cos(i * 0.37f) * 5).ToArray();
        var sampler = new Sampler(new SamplerOptions { Temperature = 0.8f, TopK = 40, TopP = 0.95f, MinP = 0.05f, RepeatPenalty = 1.1f, Seed = 9 }, logits.Length);
        for (int i = 0; i < 200; i++) sampler.Accept(sampler.Sample(logits)); // warm up past tiered compilation
        // The runtime itself may allocate a little on this thread once (re-jitting a hot method); per-call garbage would
        // show in every round.
        long fewest = long.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 100; i++) sampler.Accept(sampler.Sample(logits));
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.Equal(0, fewest);
    }
}
