using Cria.Tensors;

namespace Cria.Tests.Tensors;

/// <summary>Properties of dequantise(quantise(x)): llama.cpp's own error thresholds (tests/test-quantize-fns.cpp), the
/// per-element bounds that follow from each simple format's construction, and the edge cases (zero rows, one huge
/// value, a block that is a single value).</summary>
public sealed unsafe class QuantizeRoundTripTests
{
    public static TheoryData<GgmlType> QuantizedTypes() => new(BlockKernels.SupportedTypes.Where(t => t != GgmlType.F32));

    private static float[] RoundTrip(GgmlType type, float[] x)
    {
        var kernels = BlockKernels.Get(type, "test");
        byte[] q = new byte[TensorTypeInfo.Get(type).RowBytes(x.Length)];
        float[] y = new float[x.Length];
        fixed (float* src = x)
        fixed (byte* blocks = q)
        fixed (float* dst = y)
        {
            kernels.Quantize(src, blocks, x.Length);
            kernels.Dequantize(blocks, dst, x.Length);
        }
        return y;
    }

    /// <summary>test-quantize-fns: 4096 values 0.1 + 2cos(i), RMSE computed as sqrt(Σd²)/n (its normalisation), below
    /// 0.0075 for Q2_K, 0.004 for Q3_K and 0.002 for every other type.</summary>
    [Theory]
    [MemberData(nameof(QuantizedTypes))]
    public void Total_error_is_within_llama_cpp_test_threshold(GgmlType type)
    {
        const int n = 32 * 128;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = 0.1f + 2 * MathF.Cos(i);
        float[] y = RoundTrip(type, x);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += (double)(x[i] - y[i]) * (x[i] - y[i]);
        float error = (float)Math.Sqrt(sum) / n;
        float threshold = type switch { GgmlType.Q2_K => 0.0075f, GgmlType.Q3_K => 0.0040f, _ => 0.002f };
        Assert.True(error < threshold, $"{type}: error {error} is not below llama.cpp's threshold {threshold}");
    }

    /// <summary>Per-element bounds of the formats whose construction gives one: fp16 and bf16 round to nearest
    /// (half a unit in the last place); Q8_0 rounds x/d with d = max|x|/127; Q4_0/Q5_0 also clamp the top level,
    /// so an element can be off by a whole step d = max|x|/8 or /16; Q4_1/Q5_1 round (x − min)/d. Each bound adds
    /// the fp16 rounding of the stored scale and min (2^-11 relative) over the largest level.</summary>
    [Theory]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q5_0)]
    [InlineData(GgmlType.Q4_1)]
    [InlineData(GgmlType.Q5_1)]
    public void Every_element_is_within_its_format_bound(GgmlType type)
    {
        const float fp16Rel = 1f / 2048;
        var rng = new QuantizeInputs.SplitMix64(7 + (ulong)type);
        float[] x = new float[32 * 64];
        for (int i = 0; i < x.Length; i++) x[i] = MathF.Pow(10, i / 32 % 5 - 2) * (rng.Normal() + 0.3f); // magnitudes 1e-2 … 1e2 per block
        float[] y = RoundTrip(type, x);
        for (int b = 0; b < x.Length / 32; b++)
        {
            var block = x.AsSpan(b * 32, 32);
            float amax = 0, min = float.MaxValue, max = float.MinValue;
            foreach (float v in block)
            {
                amax = Math.Max(amax, Math.Abs(v));
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }
            for (int j = 0; j < 32; j++)
            {
                float v = block[j], err = Math.Abs(y[b * 32 + j] - v);
                float bound = type switch
                {
                    GgmlType.F16 => Math.Max(Math.Abs(v) * fp16Rel, 1f / (1 << 25)), // half an ulp; fp16 subnormals step by 2^-24
                    GgmlType.BF16 => Math.Abs(v) / 256,      // half of an ulp of 2^-7 relative
                    GgmlType.Q8_0 => amax / 127 * (0.5f + 127 * fp16Rel) * 1.001f,
                    GgmlType.Q4_0 => amax / 8 * (1 + 8 * fp16Rel) * 1.001f,
                    GgmlType.Q5_0 => amax / 16 * (1 + 16 * fp16Rel) * 1.001f,
                    GgmlType.Q4_1 => ((max - min) / 15 * (0.5f + 15 * fp16Rel) + Math.Abs(min) * fp16Rel) * 1.001f,
                    _ => ((max - min) / 31 * (0.5f + 31 * fp16Rel) + Math.Abs(min) * fp16Rel) * 1.001f,
                };
                Assert.True(err <= bound, $"{type}: block {b} element {j}: {v} came back as {y[b * 32 + j]} (error {err} > bound {bound})");
            }
        }
    }

    [Theory]
    [MemberData(nameof(QuantizedTypes))]
    public void An_all_zero_row_comes_back_zero(GgmlType type)
    {
        float[] y = RoundTrip(type, new float[512]);
        Assert.All(y, v => Assert.Equal(0f, v));
    }

    /// <summary>One value 1e4 among values of about 0.01: the block's scale follows it, so it comes back within the
    /// fp16 rounding of the scale (bf16: its own rounding; K-quants, whose 6-bit sub-scales are set against the largest
    /// one, within 1%), and
    /// the small values come back as small as the coarse step allows.</summary>
    [Theory]
    [MemberData(nameof(QuantizedTypes))]
    public void A_huge_value_sets_the_scale_and_survives(GgmlType type)
    {
        var rng = new QuantizeInputs.SplitMix64(99);
        float[] x = new float[512];
        for (int i = 0; i < x.Length; i++) x[i] = 0.01f * rng.Normal();
        x[300] = 1e4f;
        float[] y = RoundTrip(type, x);
        float relative = Math.Abs(y[300] - x[300]) / x[300];
        bool kQuant = TensorTypeInfo.Get(type).BlockElements == 256;
        float allowed = kQuant ? 0.01f : type == GgmlType.BF16 ? 1f / 256 : 3f / 2048;
        Assert.True(relative <= allowed, $"{type}: 1e4 came back as {y[300]} (relative error {relative})");
        float step = kQuant ? 1e4f / 2 : 1e4f / 7; // the coarsest level spacing any type can have next to 1e4 (Q2_K's 3 levels)
        for (int i = 256; i < 512; i++)
            Assert.True(Math.Abs(y[i] - x[i]) <= step, $"{type}: element {i} ({x[i]}) came back as {y[i]}");
        for (int i = 0; i < 256; i++) // the other super-block is untouched by the outlier
            Assert.True(Math.Abs(y[i] - x[i]) <= 0.01f, $"{type}: element {i} ({x[i]}) in the block without the outlier came back as {y[i]}");
    }

    /// <summary>A block of one repeated value: the symmetric formats hit it exactly up to the fp16 rounding of the
    /// scale, and the formats with a min store it exactly as the min when it fits fp16.</summary>
    [Theory]
    [MemberData(nameof(QuantizedTypes))]
    public void A_constant_row_comes_back_close(GgmlType type)
    {
        float[] x = Enumerable.Repeat(-0.75f, 256).ToArray();
        float[] y = RoundTrip(type, x);
        Assert.All(y, v => Assert.True(Math.Abs(v - x[0]) <= 0.75f * 3 / 2048, $"{type}: -0.75 came back as {v}"));
    }
}
