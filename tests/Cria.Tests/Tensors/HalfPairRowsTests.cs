using Cria.Tensors;
using Cria.Tensors.Interleaved;

namespace Cria.Tests.Tensors;

/// <summary>F16 and BF16 rows as stored against activations laid out in even/odd halves (<see cref="HalfPairRows{T}"/>):
/// the dot equals a double-precision dot of the exactly converted weights within float summation rounding, for every
/// length the kernel takes (whole steps of 128 columns, and tails of 32), with subnormals and zeros, and for
/// activations tiny or large; an F16 row holding an inf or NaN gives what the exact conversion gives.</summary>
public sealed unsafe class HalfPairRowsTests
{
    // Float32 sums of exactly converted products, 8 partial sums in another order than the reference: 1e-5 · Σ|w·x|.
    private const double Tolerance = 1e-5;

    public static TheoryData<GgmlType> Types() => new(GgmlType.F16, GgmlType.BF16);

    private static bool Supported => HalfPairRowKernels.Supports(32);

    private static ushort[] Halves(GgmlType type, int count, Random rng) => HalfPairsLayoutTests.Halves(type, count, rng);

    private static float Exact(GgmlType type, ushort h) => HalfPairsLayoutTests.Exact(type, h);

    private static float Dot(GgmlType type, ushort[] row, float[] x)
    {
        Assert.True(HalfPairRowKernels.TryGet(type, x.Length, out var kernels));
        var act = new float[x.Length];
        fixed (float* px = x)
        fixed (float* pa = act)
        fixed (ushort* pw = row)
        {
            kernels.Prepare(px, pa, x.Length);
            return kernels.Dot((byte*)pw, (byte*)pa, x.Length);
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void The_dot_equals_the_exact_dot_subnormals_included(GgmlType type)
    {
        if (!Supported) return; // an AVX-512 kernel: elsewhere the stored rows take the format's own dot
        var rng = new Random(7);
        foreach (int cols in new[] { 32, 96, 128, 160, 2048, 8192 + 32 })
            foreach (float xScale in new[] { 1f, 3e4f, 1e-6f })
            {
                var row = Halves(type, cols, rng);
                var x = new float[cols];
                for (int i = 0; i < cols; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * xScale;
                double exact = 0, sumAbs = 0;
                for (int k = 0; k < cols; k++)
                {
                    double term = (double)Exact(type, row[k]) * x[k];
                    exact += term;
                    sumAbs += Math.Abs(term);
                }
                float y = Dot(type, row, x);
                double bound = Tolerance * sumAbs + 1e-30;
                Assert.True(Math.Abs(y - exact) <= bound, $"{type} n={cols} (x ~ {xScale}): {y} vs {exact} (bound {bound})");
            }
    }

    [Theory]
    [InlineData((ushort)0x7C00, 1f, float.PositiveInfinity)]
    [InlineData((ushort)0xFC00, 1f, float.NegativeInfinity)]
    [InlineData((ushort)0x7C00, -1f, float.NegativeInfinity)]
    [InlineData((ushort)0x7E00, 1f, float.NaN)]
    public void An_fp16_inf_or_nan_gives_what_the_exact_conversion_gives(ushort special, float sign, float expected)
    {
        if (!Supported) return;
        var rng = new Random(3);
        foreach (int at in new[] { 0, 77, 2047 + 32 })
        {
            var row = Halves(GgmlType.F16, 2048 + 64, rng);
            row[at] = special;
            var x = new float[row.Length];
            for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble() + 0.5f;
            x[at] = sign;
            Assert.Equal(expected, Dot(GgmlType.F16, row, x));
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Rows_whose_length_is_not_a_multiple_of_32_are_not_taken(GgmlType type)
    {
        Assert.False(HalfPairRowKernels.TryGet(type, 48, out _));
        Assert.False(HalfPairRowKernels.TryGet(GgmlType.Q8_0, 64, out _));
    }
}
