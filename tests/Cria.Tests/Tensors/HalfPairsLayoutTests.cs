using Cria.Tensors;
using Cria.Tensors.Formats;
using Cria.Tensors.Interleaved;
using Cria.Tensors.Kernels.Gemm;

namespace Cria.Tests.Tensors;

/// <summary>F16 and BF16 rows repacked into 16-row groups of column pairs (<see cref="HalfPairsx16{T}"/>): every row
/// dequantises exactly as stored, the one-token kernel (fp16 weights decoded 2^-112 too small, activations scaled by
/// 2^64) equals a double-precision dot of the exact values within float summation rounding, subnormals and zeros
/// included; its AVX-512 and scalar bodies give the same bits; the prefill GEMM over groups gives the same bits as the
/// GEMM over stored rows (the same exact panel); a matrix with an fp16 inf or NaN is not repacked.</summary>
[Collection(SimdTierCollection.Name)]
public sealed unsafe class HalfPairsLayoutTests
{
    // Float32 sums of exactly converted products, 8 partial sums in another order than the reference: 1e-5 · Σ|w·x|.
    private const double Tolerance = 1e-5;

    public static TheoryData<GgmlType> Types() => new(GgmlType.F16, GgmlType.BF16);

    public static TheoryData<GgmlType, int> TypesByTier()
    {
        var data = new TheoryData<GgmlType, int>();
        foreach (var type in new[] { GgmlType.F16, GgmlType.BF16 })
            foreach (int tier in SimdTiers.All) data.Add(type, tier);
        return data;
    }

    private static InterleavedLayout Layout(GgmlType type) => InterleavedLayout.All.Single(l => l.Type == type);

    /// <summary>Random weights around 0.05, with exact zeros and (for F16) subnormals and values near the largest finite.</summary>
    internal static ushort[] Halves(GgmlType type, int count, Random rng)
    {
        var h = new ushort[count];
        for (int i = 0; i < count; i++)
        {
            float v = (float)(rng.NextDouble() * 2 - 1) * 0.1f;
            int pick = rng.Next(20);
            if (pick == 0) v = 0;
            else if (pick == 1) v = (float)(rng.NextDouble() - 0.5) * 1e-5f; // fp16 subnormal range (< 6.1e-5)
            else if (pick == 2) v *= 500;
            h[i] = type == GgmlType.F16 ? BitConverter.HalfToUInt16Bits((Half)v) : (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16);
        }
        return h;
    }

    internal static float Exact(GgmlType type, ushort h) =>
        type == GgmlType.F16 ? (float)BitConverter.UInt16BitsToHalf(h) : BitConverter.UInt32BitsToSingle((uint)h << 16);

    private static ushort[] Repacked(GgmlType type, ushort[] rows, int rowCount, int cols)
    {
        var packed = (ushort[])rows.Clone();
        fixed (ushort* p = packed) Assert.True(Layout(type).Repack((byte*)p, rowCount, cols));
        return packed;
    }

    private static float[] Activations(int n, Random rng, float scale = 1)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return x;
    }

    /// <summary>Gemv's input: x times the layout's activation scale.</summary>
    private static float[] Scaled(GgmlType type, float[] x) => x.Select(v => v * Layout(type).ActivationScale).ToArray();

    [Theory]
    [MemberData(nameof(Types))]
    public void Repacked_rows_dequantise_exactly_as_the_stored_rows(GgmlType type)
    {
        foreach (int cols in new[] { 8, 24, 2048 })
        {
            const int rows = 32;
            var stored = Halves(type, rows * cols, new Random(cols));
            var packed = Repacked(type, stored, rows, cols);
            Assert.NotEqual(stored, packed);
            var expected = new float[cols];
            var actual = new float[cols];
            fixed (ushort* s = stored)
            fixed (ushort* p = packed)
                for (int r = 0; r < rows; r++)
                {
                    new WeightMatrix("w", type, rows, cols, (byte*)s).DequantizeRow(r, expected);
                    new WeightMatrix(TensorData.Contiguous("w", "w", type, [cols, rows], (byte*)p), Layout(type)).DequantizeRow(r, actual);
                    Assert.Equal(expected, actual);
                }
        }
    }

    [Theory]
    [MemberData(nameof(TypesByTier))]
    public void One_token_equals_the_exact_dot_subnormals_included(GgmlType type, int tier)
    {
        using var tierScope = SimdTiers.Use(tier);
        var rng = new Random(tier + 3);
        foreach (var (rows, cols, xScale) in new[] { (16, 8, 1f), (48, 264, 1f), (32, 2048, 1f), (16, 512, 3e4f), (16, 512, 1e-6f) })
        {
            var stored = Halves(type, rows * cols, rng);
            var packed = Repacked(type, stored, rows, cols);
            var x = Activations(cols, rng, xScale);
            var a = Scaled(type, x);
            var y = new float[rows];
            fixed (ushort* p = packed)
            fixed (float* pa = a)
            fixed (float* py = y)
                Layout(type).Gemv((byte*)p, rows / 16, (byte*)pa, cols, py);
            for (int r = 0; r < rows; r++)
            {
                double exact = 0, sumAbs = 0;
                for (int k = 0; k < cols; k++)
                {
                    double term = (double)Exact(type, stored[r * cols + k]) * x[k];
                    exact += term;
                    sumAbs += Math.Abs(term);
                }
                double bound = Tolerance * sumAbs + 1e-30;
                Assert.True(Math.Abs(y[r] - exact) <= bound, $"{type} {rows}x{cols} (x ~ {xScale}) row {r}: {y[r]} vs {exact} (bound {bound})");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Vector_and_scalar_bodies_give_the_same_bits(GgmlType type)
    {
        var rng = new Random(11);
        const int rows = 64, cols = 4096;
        var packed = Repacked(type, Halves(type, rows * cols, rng), rows, cols);
        var a = Scaled(type, Activations(cols, rng));
        var wide = new float[rows];
        var scalar = new float[rows];
        fixed (ushort* p = packed)
        fixed (float* pa = a)
        {
            fixed (float* py = wide) Layout(type).Gemv((byte*)p, rows / 16, (byte*)pa, cols, py);
            using (SimdTiers.Use(0))
                fixed (float* py = scalar) Layout(type).Gemv((byte*)p, rows / 16, (byte*)pa, cols, py);
        }
        Assert.Equal(scalar, wide);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void The_gemm_over_groups_gives_the_stored_rows_gemm_bits(GgmlType type)
    {
        if (SimdTier.Current < 512) return; // the layout exists on AVX-512 machines only
        Assert.True(FloatGemmKernels.TryGet(type, out var stored));
        var rng = new Random(5);
        foreach (var (rows, tokens, cols) in new[] { (16, 4, 8), (64, 7, 1040), (144, 13, 520) })
        {
            var w = Halves(type, rows * cols, rng);
            var packed = Repacked(type, w, rows, cols);
            var x = Activations(tokens * cols, rng);
            var expected = new float[tokens * rows];
            var actual = new float[tokens * rows];
            var scratch = new float[FloatGemmKernels.ScratchFloats];
            fixed (ushort* pw = w)
            fixed (ushort* pp = packed)
            fixed (float* px = x)
            fixed (float* pe = expected)
            fixed (float* pa = actual)
            fixed (float* ps = scratch)
            {
                stored.Multiply((byte*)pw, 2L * cols, rows, px, cols, tokens, cols, pe, rows, ps);
                Layout(type).Gemm.Multiply((byte*)pp, 2L * cols, rows, px, cols, tokens, cols, pa, rows, ps);
            }
            Assert.Equal(expected, actual);
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void A_few_tokens_equal_one_token_at_a_time(GgmlType type)
    {
        var rng = new Random(8);
        const int rows = 32, cols = 256, tokens = 3;
        var packed = Repacked(type, Halves(type, rows * cols, rng), rows, cols);
        var a = Scaled(type, Activations(tokens * cols, rng));
        long yStride = rows + 5;
        var y = new float[tokens * yStride];
        var one = new float[rows];
        fixed (ushort* p = packed)
        fixed (float* pa = a)
        fixed (float* py = y)
        fixed (float* po = one)
        {
            Layout(type).Tile((byte*)p, 2L * cols, rows, (byte*)pa, 4L * cols, tokens, cols, py, yStride);
            for (int t = 0; t < tokens; t++)
            {
                Layout(type).Gemv((byte*)p, rows / 16, (byte*)(pa + t * cols), cols, po);
                Assert.Equal(one, y.AsSpan((int)(t * yStride), rows).ToArray());
            }
        }
    }

    [Fact]
    public void An_fp16_matrix_with_inf_or_nan_is_not_repacked()
    {
        foreach (ushort special in new ushort[] { 0x7C00, 0xFC00, 0x7E00 })
        {
            var rows = Halves(GgmlType.F16, 32 * 64, new Random(2));
            rows[20 * 64 + 33] = special;
            fixed (ushort* p = rows) Assert.False(Layout(GgmlType.F16).Repack((byte*)p, 32, 64));
        }
        var bf16 = Halves(GgmlType.BF16, 16 * 64, new Random(2));
        bf16[7] = 0x7F80; // bf16 inf converts exactly: repacked
        fixed (ushort* p = bf16) Assert.True(Layout(GgmlType.BF16).Repack((byte*)p, 16, 64));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Repack_refuses_shapes_that_fill_no_whole_group(GgmlType type)
    {
        var bytes = new ushort[17 * 64];
        var e = Assert.Throws<ArgumentException>(() => { fixed (ushort* p = bytes) Layout(type).Repack((byte*)p, 17, 64); });
        Assert.Contains("17", e.Message);
        e = Assert.Throws<ArgumentException>(() => { fixed (ushort* p = bytes) Layout(type).Repack((byte*)p, 16, 68); });
        Assert.Contains("68", e.Message);
        Assert.False(InterleavedLayout.TryGet(type, 16, 68, out _));
        Assert.False(InterleavedLayout.TryGet(type, 24, 64, out _));
    }
}
