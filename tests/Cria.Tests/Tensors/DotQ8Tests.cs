using Cria.Tensors;
using Cria.Tensors.Activations;
using Xunit.Abstractions;

namespace Cria.Tests.Tensors;

/// <summary>DotQ8 against arithmetic that shares nothing with ggml's or Cria's kernels: the dot of Cria's dequantised
/// weights with the activations read back as d·q, in double, on every SIMD tier; and bad lengths refused.
/// Tolerance: |DotQ8 − exact| ≤ 2e-6 · Σ|w·x|, plus, for Q4_1/Q5_1, Σ|m·(s − d·Σq)|: those types multiply their
/// minimum by the activations' stored fp16 <c>s</c> (ggml's design), which the dequantised dot does not see. The integer
/// sums are exact; what remains is float32 rounding of d·dy, of int → float for sums above 2^24, and of accumulating up
/// to 64 block terms. The largest seen is 6.4e-7 (Q5_K on ggml's rows, AVX2 body); a misread scale or quant, a lost
/// block or a wrong sign moves a result by orders of magnitude more.</summary>
[Collection(SimdTierCollection.Name)]
public sealed unsafe class DotQ8Tests(ITestOutputHelper output)
{
    private const double Tolerance = 2e-6;

    public static TheoryData<GgmlType, int> TypesByTier()
    {
        var data = new TheoryData<GgmlType, int>();
        foreach (var type in QuantizedDotKernels.SupportedTypes.Order())
            foreach (int tier in SimdTiers.All) data.Add(type, tier);
        return data;
    }

    public static TheoryData<GgmlType> Types() => new(QuantizedDotKernels.SupportedTypes.Order());

    /// <summary>The fixture's weight and activation rows (ggml's bytes), every prefix length it records.</summary>
    [Theory]
    [MemberData(nameof(TypesByTier))]
    public void DotQ8_matches_dequantized_dot_on_ggml_rows(GgmlType type, int tier)
    {
        Assert.True(QuantizedDotKernels.TryGet(type, out var kernels));
        using var _ = SimdTiers.Use(tier);
        double worst = 0;
        foreach (var group in Q8DotFixture.Dots.Where(d => d.GetProperty("ggml_type").GetInt32() == (int)type))
        {
            string weightsCase = group.GetProperty("weights").GetString()!, activationCase = group.GetProperty("activations").GetString()!;
            byte[] weights = Q8DotFixture.Weights(type, weightsCase);
            byte[] activations = Q8DotFixture.Activation(kernels.ActivationType, activationCase).Quantized;
            foreach (int n in group.GetProperty("elements").EnumerateArray().Select(e => e.GetInt32()))
                worst = Math.Max(worst, Check(type, weights, activations, n, $"{weightsCase} x {activationCase}"));
        }
        output.WriteLine($"{type} tier {tier}: largest |DotQ8 - exact| / sum|w*x| = {worst:E2} (ggml rows)");
    }

    /// <summary>Random weights (random quants, scales ±2^-10…2^-3) and Cria-quantised random activations, for every
    /// length of 1 … 40 blocks of 32 or 1 … 12 blocks of 256, so each loop tail meets many values.</summary>
    [Theory]
    [MemberData(nameof(TypesByTier))]
    public void DotQ8_matches_dequantized_dot_for_every_length(GgmlType type, int tier)
    {
        Assert.True(QuantizedDotKernels.TryGet(type, out var kernels));
        var rng = new Random(2000 * (int)type + tier);
        int block = TensorTypeInfo.Get(type).BlockElements;
        using var _ = SimdTiers.Use(tier);
        double worst = 0;
        for (int blocks = 1; blocks <= (block == 32 ? 40 : 12); blocks++)
        {
            int n = blocks * block;
            byte[] weights = TestBlocks.Random(type, blocks, rng);
            float[] x = TestBlocks.Activations(n, rng);
            for (int i = 0; i < n; i += 97) x[i] *= 40; // a few large values, so blocks' scales differ
            byte[] activations = new byte[ActivationLayout.RowBytes(kernels.ActivationType, n)];
            fixed (float* px = x)
            fixed (byte* pa = activations)
                kernels.QuantizeActivations(px, pa, n);
            worst = Math.Max(worst, Check(type, weights, activations, n, "random"));
        }
        output.WriteLine($"{type} tier {tier}: largest |DotQ8 - exact| / sum|w*x| = {worst:E2} (random rows)");
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void DotQ8_refuses_lengths_that_are_not_whole_blocks(GgmlType type)
    {
        Assert.True(QuantizedDotKernels.TryGet(type, out var kernels));
        int block = TensorTypeInfo.Get(type).BlockElements;
        byte[] weights = new byte[4 * TensorTypeInfo.Get(type).BlockBytes];
        byte[] activations = new byte[ActivationLayout.RowBytes(kernels.ActivationType, 4 * block)];
        foreach (int n in new[] { 1, block - 1, block + 1, block + block / 2, 3 * block + 1, -block, int.MinValue })
            foreach (int tier in SimdTiers.All)
            {
                using var _ = SimdTiers.Use(tier);
                var e = Assert.Throws<ArgumentException>(() => Q8DotMath.DotQ8(type, weights, activations, n));
                Assert.Equal("n", e.ParamName);
                Assert.Contains(n.ToString(), e.Message);
                Assert.Contains(block.ToString(), e.Message);
            }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void DotQ8_of_no_elements_is_zero(GgmlType type)
    {
        foreach (int tier in SimdTiers.All)
        {
            using var _ = SimdTiers.Use(tier);
            Assert.Equal(0f, Q8DotMath.DotQ8(type, [0], [0], 0));
        }
    }

    [Theory]
    [InlineData(ActivationType.Q8_0)]
    [InlineData(ActivationType.Q8_1)]
    [InlineData(ActivationType.Q8_K)]
    public void Activation_quantizer_refuses_lengths_that_are_not_whole_blocks(ActivationType type)
    {
        int block = ActivationLayout.BlockElements(type);
        float[] x = new float[4 * block];
        byte[] y = new byte[ActivationLayout.RowBytes(type, 4 * block)];
        foreach (int n in new[] { 1, block - 1, block + 1, 3 * block + 16, -block, int.MinValue })
            foreach (int tier in SimdTiers.All)
            {
                using var _ = SimdTiers.Use(tier);
                var e = Assert.Throws<ArgumentException>(() =>
                {
                    fixed (float* px = x)
                    fixed (byte* py = y)
                        QuantizedDotKernels.ActivationQuantizer(type)(px, py, n);
                });
                Assert.Equal("n", e.ParamName);
                Assert.Contains(n.ToString(), e.Message);
                Assert.Contains(block.ToString(), e.Message);
                Assert.All(y, b => Assert.Equal(0, b)); // nothing written
            }
    }

    [Theory]
    [InlineData(ActivationType.Q8_0, 31)]
    [InlineData(ActivationType.Q8_K, 300)]
    [InlineData(ActivationType.Q8_1, -32)]
    public void Activation_row_bytes_refuse_partial_blocks(ActivationType type, long elements) =>
        Assert.Throws<ArgumentException>(() => ActivationLayout.RowBytes(type, elements));

    /// <summary>Checks one dot product; returns |DotQ8 − exact| / Σ|w·x| for the report.</summary>
    private static double Check(GgmlType type, byte[] weights, byte[] activations, int n, string rows)
    {
        Assert.True(QuantizedDotKernels.TryGet(type, out var kernels));
        float dot = Q8DotMath.DotQ8(type, weights, activations, n);
        var (exact, sumAbs) = Q8DotMath.Dot(Q8DotMath.Weights(type, weights, n), Q8DotMath.Dequantize(kernels.ActivationType, activations, n));
        double bySum = Q8DotMath.MinimumTimesSumRounding(type, weights, activations, n);
        double error = Math.Abs(dot - exact), allowed = Tolerance * sumAbs + bySum;
        Assert.True(error <= allowed,
            $"{type} (runs {SimdTier.Current}), {rows}, n = {n}: DotQ8 = {Q8DotMath.Show(dot)}, dequantised dot = {exact:R}, error {error:E2} > " +
            $"{Tolerance:E0} x sum|w*x| ({sumAbs:E2}) + sum|m*(s - d*sum q)| ({bySum:E2})");
        return sumAbs > 0 ? Math.Max(0, error - bySum) / sumAbs : 0;
    }
}
