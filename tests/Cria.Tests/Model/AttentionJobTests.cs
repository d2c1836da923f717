using Cria.Model;
using Cria.Model.Jobs;
using Cria.Tests.Tensors;

namespace Cria.Tests.Model;

/// <summary>The attention job against attention computed in double from its definition, for head widths that take the
/// 64-float value slices, a remainder, or neither, and query groups that fill the four-head value passes or not; every
/// kernel width the machine has.</summary>
[Collection(SimdTierCollection.Name)]
public sealed unsafe class AttentionJobTests
{
    public static TheoryData<int, int, int, int> Shapes()
    {
        var data = new TheoryData<int, int, int, int>();
        // head width, query heads, KV heads, kernel width
        foreach (var (headDim, heads, kvHeads) in new[] { (64, 32, 4), (64, 32, 8), (128, 12, 4), (80, 10, 2), (8, 8, 4), (64, 5, 5), (16, 9, 1) })
            foreach (int tier in SimdTiers.All)
                data.Add(headDim, heads, kvHeads, tier);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Matches_attention_from_its_definition(int headDim, int heads, int kvHeads, int tier)
    {
        using var _ = SimdTiers.Use(tier);
        const int capacity = 45, first = 30, tokens = 5; // positions 30…34 attend to 31…35 cached ones, across a key block edge
        var config = new LlamaConfig
        {
            Dim = heads * headDim, HiddenDim = 1, LayerCount = 2, HeadCount = heads, KvHeadCount = kvHeads, VocabSize = 1,
            ContextLength = capacity, HeadDim = headDim,
        };
        var rng = new Random(headDim * 1000 + heads * 10 + kvHeads);
        int kvDim = kvHeads * headDim, qDim = heads * headDim, group = heads / kvHeads;
        var keys = new float[first + tokens][];
        var values = new float[first + tokens][];
        using var cache = new KvCache(2, capacity, kvHeads, headDim);
        for (int p = 0; p < first + tokens; p++)
        {
            keys[p] = Random(rng, kvDim);
            values[p] = Random(rng, kvDim);
            cache.Store(1, p, keys[p], values[p]);
            cache.Store(0, p, Random(rng, kvDim), Random(rng, kvDim)); // another layer, which must not be read
        }
        float[] q = Random(rng, tokens * qDim);
        var output = new float[tokens * qDim];
        Array.Fill(output, float.NaN); // what the job does not write shows
        var job = new AttentionJob(cache, config, 1);
        fixed (float* pq = q, po = output)
        {
            job.Set(pq, po, 1, first);
            job.Execute(0, tokens * kvHeads, 0);
        }

        for (int t = 0; t < tokens; t++)
            for (int h = 0; h < heads; h++)
            {
                int length = first + t + 1, g = h / group;
                var scores = new double[length];
                for (int j = 0; j < length; j++)
                {
                    double dot = 0;
                    for (int d = 0; d < headDim; d++) dot += (double)q[t * qDim + h * headDim + d] * keys[j][g * headDim + d];
                    scores[j] = dot / Math.Sqrt(headDim);
                }
                double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
                for (int d = 0; d < headDim; d++)
                {
                    double expected = 0;
                    for (int j = 0; j < length; j++) expected += Math.Exp(scores[j] - max) / sum * values[j][g * headDim + d];
                    float actual = output[t * qDim + h * headDim + d];
                    Assert.True(Math.Abs(actual - expected) <= 1e-5,
                        $"tier {tier}, head width {headDim}, {heads}/{kvHeads} heads: token {t} head {h} component {d}: {actual:R}, expected {expected:R}");
                }
            }
    }

    [Fact]
    public void Keys_sit_in_blocks_of_sixteen_positions_and_values_in_rows_per_head()
    {
        const int headDim = 3, kvHeads = 2, capacity = 20;
        using var cache = new KvCache(2, capacity, kvHeads, headDim);
        for (int p = 0; p < capacity; p++)
        {
            var key = new float[kvHeads * headDim];
            var value = new float[kvHeads * headDim];
            for (int c = 0; c < key.Length; c++) { key[c] = 1000 * p + c; value[c] = -(1000 * p + c); }
            cache.Store(1, p, key, value);
        }
        for (int h = 0; h < kvHeads; h++)
            for (int p = 0; p < capacity; p++)
                for (int d = 0; d < headDim; d++)
                {
                    Assert.Equal(1000 * p + h * headDim + d, cache.KeyHead(1, h)[p / 16 * 16 * headDim + 16 * d + p % 16]);
                    Assert.Equal(-(1000 * p + h * headDim + d), cache.ValueHead(1, h)[p * headDim + d]);
                }
        Assert.Equal(KvCache.BytesFor(2, capacity, kvHeads * headDim), cache.ByteSize);
        Assert.Equal(2L * 2 * 32 * kvHeads * headDim * sizeof(float), cache.ByteSize); // 20 positions take two whole key blocks
    }

    [Fact]
    public void Storing_outside_the_cache_or_the_wrong_width_is_refused()
    {
        using var cache = new KvCache(1, 20, 2, 4);
        var ok = new float[8];
        Assert.Contains("outside the cache", Assert.Throws<ArgumentOutOfRangeException>(() => cache.Store(0, 20, ok, ok)).Message);
        Assert.Contains("outside the cache", Assert.Throws<ArgumentOutOfRangeException>(() => cache.Store(0, -1, ok, ok)).Message);
        Assert.Contains("8 components", Assert.Throws<ArgumentException>(() => cache.Store(0, 0, new float[7], ok)).Message);
    }

    private static float[] Random(Random rng, int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 4 - 2);
        return x;
    }
}
