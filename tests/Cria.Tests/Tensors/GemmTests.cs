using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Cria.Tensors;
using Cria.Tensors.Kernels.Gemm;

namespace Cria.Tests.Tensors;

/// <summary>The prefill GEMM of every float type, in every body (512, 256, 128 bits, scalar), against
/// dequantise-then-dot in double and against the type's own Dot: every output within 1e-5 · Σ|w·x| (the bound and
/// its reasoning are <see cref="BlockDotTests"/>'), for awkward shapes that hit every row, token and column tail and
/// several k-blocks, with strides wider than the rows; inf/NaN weights give what Dot gives.</summary>
[Collection(SimdTierCollection.Name)]
public sealed unsafe class GemmTests
{
    private const double Tolerance = 1e-5;
    private const float Sentinel = -12345.5f; // written around the outputs: a kernel must leave it alone

    private static readonly int[] Rows = [1, 3, 17, 31, 64, 100, 257];
    private static readonly int[] Tokens = [1, 3, 7, 17, 64];
    private static readonly int[] Cols = [1, 3, 17, 31, 64, 100, 257, 600];

    public static TheoryData<GgmlType, int> TypesByTier()
    {
        var data = new TheoryData<GgmlType, int>();
        foreach (var type in new[] { GgmlType.F32, GgmlType.F16, GgmlType.BF16 })
            foreach (int tier in SimdTiers.All) data.Add(type, tier);
        return data;
    }

    [Fact]
    public void Registry_has_the_float_types()
    {
        Assert.Equal([GgmlType.F32, GgmlType.F16, GgmlType.BF16], FloatGemmKernels.SupportedTypes.ToArray());
        foreach (var type in FloatGemmKernels.SupportedTypes)
        {
            Assert.True(FloatGemmKernels.TryGet(type, out var kernel));
            Assert.Equal(type, kernel.Type);
            Assert.Equal(FloatGemmKernels.ScratchFloats, kernel.ScratchFloats);
        }
        Assert.False(FloatGemmKernels.TryGet(GgmlType.Q8_0, out _));
    }

    [Theory]
    [MemberData(nameof(TypesByTier))]
    public void Every_shape_matches_dequantized_dot(GgmlType type, int tier)
    {
        var rng = new Random(100 * (int)type + tier);
        using var _ = SimdTiers.Use(tier);
        foreach (int cols in Cols)
            foreach (int rows in Rows)
                foreach (int tokens in Tokens)
                {
                    byte[] w = TestBlocks.Random(type, rows * cols, rng);
                    float[] x = TestBlocks.Activations(tokens * (cols + 5), rng);
                    Check(type, tier, w, rows, cols, x, cols + 5, tokens, $"{rows} x {cols}, {tokens} tokens");
                }
    }

    [Theory]
    [MemberData(nameof(TypesByTier))]
    public void Weights_read_in_place_with_a_row_stride(GgmlType type, int tier)
    {
        // Row r of a 40 x 300 tile taken from a 700-column matrix: the kernel must use wRowBytes, not cols.
        var rng = new Random(7 + tier);
        using var _ = SimdTiers.Use(tier);
        const int rows = 40, cols = 300, fullCols = 700, tokens = 9;
        byte[] full = TestBlocks.Random(type, rows * fullCols, rng);
        long rowBytes = TensorTypeInfo.Get(type).RowBytes(fullCols);
        long tileBytes = TensorTypeInfo.Get(type).RowBytes(cols);
        byte[] packed = new byte[rows * tileBytes];
        for (int r = 0; r < rows; r++) Array.Copy(full, r * rowBytes + 11 * ElementBytes(type), packed, r * tileBytes, tileBytes);
        float[] x = TestBlocks.Activations(tokens * cols, rng);
        float[] y = new float[tokens * rows], expected = new float[tokens * rows];
        var kernel = Kernel(type);
        float* scratch = (float*)NativeMemory.AlignedAlloc(FloatGemmKernels.ScratchFloats * sizeof(float), 64);
        try
        {
            fixed (byte* pf = full)
            fixed (byte* pp = packed)
            fixed (float* px = x)
            fixed (float* py = y)
            fixed (float* pe = expected)
            {
                kernel.Multiply(pf + 11 * ElementBytes(type), rowBytes, rows, px, cols, tokens, cols, py, rows, scratch);
                kernel.Multiply(pp, tileBytes, rows, px, cols, tokens, cols, pe, rows, scratch);
            }
        }
        finally
        {
            NativeMemory.AlignedFree(scratch);
        }
        Assert.Equal(expected, y);
    }

    [Theory]
    [MemberData(nameof(TypesByTier))]
    public void Infinity_and_nan_weights_give_what_dot_gives(GgmlType type, int tier)
    {
        using var _ = SimdTiers.Use(tier);
        const int rows = 37, cols = 300, tokens = 7; // row, column (across a k-block) and token tails
        var rng = new Random(3);
        float[] x = new float[tokens * cols];
        for (int i = 0; i < x.Length; i++) x[i] = 0.25f + rng.NextSingle();
        x[2 * cols + 5] = 0; // token 2 meets an infinity at column 5 with zero: NaN, as in Dot
        float[][] special = [[float.PositiveInfinity], [float.NegativeInfinity], [float.NaN], [float.PositiveInfinity, float.NegativeInfinity], []];
        float[] wf = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            for (int k = 0; k < cols; k++) wf[r * cols + k] = 0.5f - rng.NextSingle();
            float[] values = special[r % special.Length];
            for (int i = 0; i < values.Length; i++) wf[r * cols + (r * 37 + 101 * i) % cols] = values[i];
            if (r == 5) wf[r * cols + 5] = float.PositiveInfinity;
        }
        byte[] w = Encode(type, wf);
        float[] y = Run(type, w, rows, cols, x, cols, tokens, rows);
        var dot = BlockKernels.Get(type, "test").Dot;
        long rowBytes = TensorTypeInfo.Get(type).RowBytes(cols);
        fixed (byte* pw = w)
        fixed (float* px = x)
            for (int t = 0; t < tokens; t++)
                for (int r = 0; r < rows; r++)
                {
                    float expected = dot(pw + r * rowBytes, px + t * cols, cols), got = y[t * rows + r];
                    bool same = float.IsNaN(expected) ? float.IsNaN(got)
                        : float.IsInfinity(expected) ? got == expected
                        : float.IsFinite(got) && Math.Abs(got - expected) <= 1e-4 * Math.Max(1, Math.Abs(expected));
                    Assert.True(same, $"{type} tier {tier}: row {r}, token {t}: GEMM {got}, Dot {expected}");
                }
    }

    [Fact]
    public void Empty_shapes()
    {
        var kernel = Kernel(GgmlType.F32);
        float[] y = [Sentinel, Sentinel, Sentinel, Sentinel];
        float* scratch = (float*)NativeMemory.AlignedAlloc(FloatGemmKernels.ScratchFloats * sizeof(float), 64);
        try
        {
            fixed (float* py = y)
            {
                kernel.Multiply(null, 0, 0, null, 0, 2, 5, py, 2, scratch);
                kernel.Multiply(null, 0, 2, null, 0, 0, 5, py, 2, scratch);
                Assert.All(y, v => Assert.Equal(Sentinel, v));
                kernel.Multiply(null, 0, 2, null, 0, 2, 0, py, 2, scratch); // no columns: empty sums are zero
                Assert.All(y, v => Assert.Equal(0f, v));
            }
            Assert.Throws<ArgumentOutOfRangeException>(() => F32Gemm.Multiply(null, 0, -1, null, 0, 1, 1, null, 0, null));
        }
        finally
        {
            NativeMemory.AlignedFree(scratch);
        }
    }

    private static void Check(GgmlType type, int tier, byte[] w, int rows, int cols, float[] x, int xStride, int tokens, string shape)
    {
        int yStride = rows + 3;
        float[] y = Run(type, w, rows, cols, x, xStride, tokens, yStride);
        long rowBytes = TensorTypeInfo.Get(type).RowBytes(cols);
        var dot = BlockKernels.Get(type, "test").Dot;
        float[] wf;
        fixed (byte* pw = w) wf = DequantDigest.Dequantize(type, pw, (long)rows * cols);
        fixed (byte* pw = w)
        fixed (float* px = x)
            for (int t = 0; t < tokens; t++)
            {
                for (int r = 0; r < rows; r++)
                {
                    double exact = 0, magnitude = 0;
                    for (int k = 0; k < cols; k++)
                    {
                        double p = (double)wf[r * cols + k] * x[t * xStride + k];
                        exact += p;
                        magnitude += Math.Abs(p);
                    }
                    float got = y[t * yStride + r];
                    float byDot = dot(pw + r * rowBytes, px + t * xStride, cols);
                    double bound = Tolerance * magnitude;
                    if (Math.Abs(got - exact) > bound || Math.Abs(got - (double)byDot) > 2 * bound)
                        Assert.Fail($"{type} tier {tier} (runs {SimdTier.Effective(tier)}), {shape}: y[{t}, {r}] = {got:R}, " +
                                    $"dequantised dot {exact:R}, Dot {byDot:R}, bound {bound:E2}");
                }
                for (int r = rows; r < yStride && t * yStride + r < y.Length; r++)
                    Assert.True(y[t * yStride + r] == Sentinel, $"{type} tier {tier}, {shape}: wrote past row {rows - 1} of token {t}");
            }
    }

    /// <summary>Runs the GEMM into a sentinel-filled output of tokens rows of <paramref name="yStride"/> floats.</summary>
    private static float[] Run(GgmlType type, byte[] w, int rows, int cols, float[] x, int xStride, int tokens, int yStride)
    {
        var kernel = Kernel(type);
        float[] y = new float[(tokens - 1) * yStride + rows];
        Array.Fill(y, Sentinel);
        float* scratch = (float*)NativeMemory.AlignedAlloc((nuint)kernel.ScratchFloats * sizeof(float), 64);
        try
        {
            fixed (byte* pw = w)
            fixed (float* px = x)
            fixed (float* py = y)
                kernel.Multiply(pw, TensorTypeInfo.Get(type).RowBytes(cols), rows, px, xStride, tokens, cols, py, yStride, scratch);
        }
        finally
        {
            NativeMemory.AlignedFree(scratch);
        }
        return y;
    }

    private static FloatGemmKernel Kernel(GgmlType type) =>
        FloatGemmKernels.TryGet(type, out var kernel) ? kernel : throw new InvalidOperationException($"no GEMM for {type}");

    private static int ElementBytes(GgmlType type) => type == GgmlType.F32 ? 4 : 2;

    /// <summary>Floats in the stored type: F16 by round-to-nearest (inf and NaN kept), BF16 by truncation (exact for NaN/inf).</summary>
    private static byte[] Encode(GgmlType type, float[] values)
    {
        byte[] bytes = new byte[values.Length * ElementBytes(type)];
        var span = bytes.AsSpan();
        for (int i = 0; i < values.Length; i++)
            switch (type)
            {
                case GgmlType.F32: BinaryPrimitives.WriteSingleLittleEndian(span[(4 * i)..], values[i]); break;
                case GgmlType.F16: BinaryPrimitives.WriteHalfLittleEndian(span[(2 * i)..], (Half)values[i]); break;
                default: BinaryPrimitives.WriteUInt16LittleEndian(span[(2 * i)..], (ushort)(BitConverter.SingleToUInt32Bits(values[i]) >> 16)); break;
            }
        return bytes;
    }
}
