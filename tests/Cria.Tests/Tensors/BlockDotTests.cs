using Cria.Tensors;

namespace Cria.Tests.Tensors;

/// <summary>Every Dot body (512, 256, 128 bits, scalar) of every type agrees with dequantise-then-dot in double,
/// for 1…40 blocks (1…300 elements for F32/F16/BF16, so every vector tail is hit).
/// Tolerance: |dot − exact| ≤ 1e-5 · Σ|w·x|. The weights come out of the kernels exact (products of small integers and
/// fp16 scales need no rounding) or with ggml's single rounding, so the error is float32 accumulation: a few hundred
/// terms per chain give a worst case near n·2⁻²⁴ ≈ 2e-5 and typical errors near 1e-7; a wrong sub-block scale or a
/// misplaced quant moves the result by far more than 1e-5 of Σ|w·x|.</summary>
[Collection(SimdTierCollection.Name)]
public sealed unsafe class BlockDotTests
{
    private const double Tolerance = 1e-5;

    public static TheoryData<GgmlType, int> QuantizedTypesByTier()
    {
        var data = new TheoryData<GgmlType, int>();
        foreach (var type in BlockKernels.SupportedTypes.Where(t => TensorTypeInfo.Get(t).BlockElements > 1).Order())
            foreach (int tier in SimdTiers.All) data.Add(type, tier);
        return data;
    }

    public static TheoryData<GgmlType, int> FloatTypesByTier()
    {
        var data = new TheoryData<GgmlType, int>();
        foreach (var type in new[] { GgmlType.F32, GgmlType.F16, GgmlType.BF16 })
            foreach (int tier in SimdTiers.All) data.Add(type, tier);
        return data;
    }

    [Theory]
    [MemberData(nameof(QuantizedTypesByTier))]
    public void Quantized_dot_matches_dequantized_dot(GgmlType type, int tier)
    {
        var rng = new Random(1000 * (int)type + tier);
        int blockElements = TensorTypeInfo.Get(type).BlockElements;
        using var _ = SimdTiers.Use(tier);
        for (int blocks = 1; blocks <= 40; blocks++)
            Check(type, tier, TestBlocks.Random(type, blocks, rng), blocks * blockElements, rng);
    }

    [Theory]
    [MemberData(nameof(FloatTypesByTier))]
    public void Float_dot_matches_for_every_length(GgmlType type, int tier)
    {
        var rng = new Random(1000 * (int)type + tier);
        using var _ = SimdTiers.Use(tier);
        for (int n = 1; n <= 300; n++)
            Check(type, tier, TestBlocks.Random(type, n, rng), n, rng);
    }

    [Theory]
    [MemberData(nameof(SimdTiers.Data), MemberType = typeof(SimdTiers))]
    public void F16_dot_keeps_infinity_and_nan_in_every_position(int tier)
    {
        using var _ = SimdTiers.Use(tier);
        const int n = 83; // 5 full vectors of 16 and a tail of 3
        var kernels = BlockKernels.Get(GgmlType.F16, "test");
        float[] x = Enumerable.Repeat(0.5f, n).ToArray();
        for (int pos = 0; pos < n; pos++)
            foreach (var (bits, expectNaN) in new (ushort, bool)[] { (0x7C00, false), (0x7E01, true), (0x7C01, true) })
            {
                ushort[] w = Enumerable.Repeat((ushort)0x3C00, n).ToArray(); // 1.0
                w[pos] = bits;
                float dot;
                fixed (ushort* pw = w)
                fixed (float* px = x) dot = kernels.Dot((byte*)pw, px, n);
                Assert.True(expectNaN ? float.IsNaN(dot) : float.IsPositiveInfinity(dot),
                    $"tier {tier}: weight 0x{bits:x4} at {pos} gives {dot}");
            }
    }

    private static void Check(GgmlType type, int tier, byte[] row, int n, Random rng)
    {
        var kernels = BlockKernels.Get(type, "test");
        float[] x = TestBlocks.Activations(n, rng);
        float dot;
        float[] w;
        fixed (byte* pr = row)
        fixed (float* px = x)
        {
            dot = kernels.Dot(pr, px, n);
            w = DequantDigest.Dequantize(type, pr, n);
        }
        double exact = 0, magnitude = 0;
        for (int i = 0; i < n; i++)
        {
            exact += (double)w[i] * x[i];
            magnitude += Math.Abs((double)w[i] * x[i]);
        }
        double error = Math.Abs(dot - exact);
        Assert.True(error <= Tolerance * magnitude,
            $"{type} tier {tier} (runs {SimdTier.Effective(tier)}), n = {n}: Dot = {dot:R}, dequantised dot = {exact:R}, " +
            $"error {error:E2} > {Tolerance:E0} × Σ|w·x| = {Tolerance * magnitude:E2}");
    }
}
