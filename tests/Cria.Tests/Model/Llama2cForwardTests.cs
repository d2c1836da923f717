using Cria.Formats.Llama2c;
using Cria.Model;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Model;

/// <summary>The forward pass on stories260K's llama2.c checkpoint against stories260K.expected.json
/// (an f32 NumPy re-implementation of run.c, checked against run.c itself).</summary>
public class Llama2cForwardTests
{
    private static readonly System.Text.Json.JsonElement Expected = Json.Load("stories260K/stories260K.expected.json");

    private static LlamaModel OpenModel()
    {
        var checkpoint = Llama2cCheckpoint.Open(TestAssets.Path("stories260K/stories260K.bin")).ToCheckpoint(null);
        return new LlamaModel(checkpoint.Config, LlamaWeightsBuilder.Build(checkpoint), null, "test", checkpoint);
    }

    [Fact]
    public void Header_gives_the_published_configuration()
    {
        using var model = OpenModel();
        var c = model.Config;
        Assert.Equal((64, 172, 5, 8, 4, 512, 512, true), (c.Dim, c.HiddenDim, c.LayerCount, c.HeadCount, c.KvHeadCount, c.VocabSize, c.ContextLength, c.TiedOutput));
        Assert.Equal(8, c.HeadDim);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Greedy_from_BOS_reproduces_all_256_reference_tokens(int threads)
    {
        using var model = OpenModel();
        using var context = new LlamaContext(model, new ContextOptions { Threads = threads });
        var expected = Expected.GetProperty("greedy_from_bos").GetProperty("generated_ids").Ints();
        var referenceLogits = Expected.GetProperty("greedy_from_bos").GetProperty("logits_at_positions_0_to_3").EnumerateArray().Select(e => e.Floats()).ToArray();
        int token = 1;
        var generated = new List<int>();
        for (int step = 0; step < expected.Length; step++)
        {
            var logits = context.Process([token]);
            if (step < referenceLogits.Length) AssertClose(referenceLogits[step], logits, 1e-4f, $"position {step}");
            token = ArgMax(logits);
            generated.Add(token);
        }
        Assert.Equal(expected, generated);
    }

    [Fact]
    public void Prompt_processed_as_one_batch_gives_the_reference_logits_and_continuation()
    {
        using var model = OpenModel();
        using var context = new LlamaContext(model);
        var prompt = Expected.GetProperty("prompt_once_upon_a_time");
        var logits = context.Process(prompt.GetProperty("prompt_ids_with_bos").Ints());
        AssertClose(prompt.GetProperty("logits_after_prompt").Floats(), logits, 1e-4f, "after prompt");
        var next = new List<int>();
        int token = ArgMax(logits);
        foreach (var _ in prompt.GetProperty("greedy_next_20_ids").Ints())
        {
            next.Add(token);
            token = ArgMax(context.Process([token]));
        }
        Assert.Equal(prompt.GetProperty("greedy_next_20_ids").Ints(), next);
    }

    [Fact]
    public void Logits_of_every_position_match_step_by_step_processing()
    {
        using var model = OpenModel();
        var ids = Expected.GetProperty("greedy_from_bos").GetProperty("generated_ids").Ints().Take(40).Prepend(1).ToArray();
        using var batch = new LlamaContext(model, new ContextOptions { BatchSize = 16 });
        var all = new float[ids.Length * 512];
        batch.ProcessAll(ids, all);
        using var single = new LlamaContext(model);
        // The batch goes through the GEMM, single tokens through dot products: float32 sums in different orders
        // (1.1e-5 measured on logits of magnitude ~7, i.e. ~2 ulp-scale relative error accumulated over 5 layers).
        for (int i = 0; i < ids.Length; i++)
            AssertClose(single.Process([ids[i]]).ToArray(), all.AsSpan(i * 512, 512), 3e-5f, $"position {i}");
    }

    internal static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    internal static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance, string where)
    {
        Assert.Equal(expected.Length, actual.Length);
        float worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            float d = Math.Abs(expected[i] - actual[i]);
            if (!(d <= worst)) { worst = d; at = i; }
        }
        Assert.True(worst <= tolerance, $"{where}: max |Δlogit| {worst} at index {at} (expected {expected[Math.Max(at, 0)]}, got {actual[Math.Max(at, 0)]}) exceeds {tolerance}");
    }
}
