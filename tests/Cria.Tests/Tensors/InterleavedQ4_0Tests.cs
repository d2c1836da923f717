using Cria.Tensors;
using Cria.Tensors.Activations;
using Cria.Tensors.Interleaved;

namespace Cria.Tests.Tensors;

/// <summary>Q4_0 repacked into groups of 16 interleaved rows (<see cref="Q4_0x16"/>): the repack loses nothing (every row
/// dequantises to exactly what the stored row did), the one-token kernel equals the row dot <c>DotQ8</c> (itself checked
/// against ggml's vec_dot) within float rounding, its AVX-512 body and scalar fallback give the same bits, and the
/// multi-token tile over interleaved rows equals the one-token kernel. Tolerance as in <see cref="DotQ8TileTests"/>:
/// 1e-5 · Σ|w·x| (same integer block sums and scales, another float summation order).</summary>
[Collection(SimdTierCollection.Name)]
public sealed unsafe class InterleavedQ4_0Tests
{
    private const double Tolerance = 1e-5;

    private sealed class Matrix
    {
        public required byte[] Rows;     // as stored in the file
        public required byte[] Packed;   // repacked in place
        public required int RowCount, Cols;
        public long RowBytes => Cols / 32 * 18L;
    }

    private static Matrix Make(int rows, int cols, Random rng)
    {
        var bytes = new byte[rows * (cols / 32 * 18L)];
        for (int r = 0; r < rows; r++) TestBlocks.Random(GgmlType.Q4_0, cols / 32, rng).CopyTo(bytes, r * (cols / 32 * 18L));
        var packed = (byte[])bytes.Clone();
        fixed (byte* p = packed) Q4_0x16.Repack(p, rows, cols);
        return new Matrix { Rows = bytes, Packed = packed, RowCount = rows, Cols = cols };
    }

    private static byte[] Activations(int tokens, int n, Random rng, out long rowBytes)
    {
        Assert.True(QuantizedDotKernels.TryGet(GgmlType.Q4_0, out var kernels));
        rowBytes = ActivationLayout.RowBytes(kernels.ActivationType, n);
        var a = new byte[tokens * rowBytes];
        fixed (byte* pa = a)
            for (int t = 0; t < tokens; t++)
                fixed (float* px = TestBlocks.Activations(n, rng)) kernels.QuantizeActivations(px, pa + t * rowBytes, n);
        return a;
    }

    /// <summary>Σ|w·x| of stored row r and the activation row at <paramref name="offset"/>: the scale of the rounding.</summary>
    private static double AbsSum(Matrix m, int r, byte[] a, long offset, int n)
    {
        float[] w = Q8DotMath.Weights(GgmlType.Q4_0, m.Rows.AsSpan((int)(r * m.RowBytes), (int)m.RowBytes).ToArray(), n);
        double[] x = Q8DotMath.Dequantize(ActivationType.Q8_0, a.AsSpan((int)offset), n);
        return Q8DotMath.Dot(w, x).SumAbs;
    }

    [Theory]
    [InlineData(16, 32)]
    [InlineData(48, 256)]
    [InlineData(32, 2080)]
    public void Repacked_rows_dequantise_exactly_as_the_stored_rows(int rows, int cols)
    {
        var m = Make(rows, cols, new Random(rows + cols));
        Assert.NotEqual(m.Rows, m.Packed); // the layout did change
        var expected = new float[cols];
        var actual = new float[cols];
        fixed (byte* rowsPtr = m.Rows)
        fixed (byte* packedPtr = m.Packed)
        fixed (float* dst = actual)
            for (int r = 0; r < rows; r++)
            {
                new WeightMatrix("w", GgmlType.Q4_0, rows, cols, rowsPtr).DequantizeRow(r, expected);
                Q4_0x16.DequantizeRow(packedPtr, m.RowBytes, r, cols, dst);
                Assert.Equal(expected, actual);
            }
    }

    [Theory]
    [MemberData(nameof(SimdTiers.Data), MemberType = typeof(SimdTiers))]
    public void One_token_equals_the_row_dots(int tier)
    {
        using var tierScope = SimdTiers.Use(tier);
        var rng = new Random(tier + 5);
        Assert.True(QuantizedDotKernels.TryGet(GgmlType.Q4_0, out var kernels));
        foreach (var (rows, cols) in new[] { (16, 32), (32, 96), (64, 1024), (48, 2080) })
        {
            var m = Make(rows, cols, rng);
            var a = Activations(1, cols, rng, out _);
            var x = new float[cols];
            var y = new float[rows];
            fixed (byte* pw = m.Rows)
            fixed (byte* pp = m.Packed)
            fixed (byte* pa = a)
            fixed (float* py = y)
            {
                Q4_0x16.Gemv(pp, rows / 16, pa, cols, py);
                for (int r = 0; r < rows; r++)
                {
                    float expected = kernels.DotQ8(pw + r * m.RowBytes, pa, cols);
                    double bound = Tolerance * AbsSum(m, r, a, 0, cols);
                    Assert.True(Math.Abs(y[r] - expected) <= bound, $"{rows}x{cols} row {r}: {y[r]} vs DotQ8 {expected} (bound {bound})");
                }
            }
        }
    }

    [Fact]
    public void Vector_and_scalar_bodies_give_the_same_bits()
    {
        var rng = new Random(11);
        var m = Make(64, 4096, rng);
        var a = Activations(1, 4096, rng, out _);
        var wide = new float[64];
        var scalar = new float[64];
        fixed (byte* pp = m.Packed)
        fixed (byte* pa = a)
        {
            fixed (float* py = wide) Q4_0x16.Gemv(pp, 4, pa, 4096, py);
            using (SimdTiers.Use(0))
                fixed (float* py = scalar) Q4_0x16.Gemv(pp, 4, pa, 4096, py);
        }
        Assert.Equal(scalar, wide);
    }

    [Theory]
    [MemberData(nameof(SimdTiers.Data), MemberType = typeof(SimdTiers))]
    public void Tile_over_interleaved_rows_equals_one_token_at_a_time(int tier)
    {
        using var tierScope = SimdTiers.Use(tier);
        var rng = new Random(tier + 17);
        foreach (var (rows, tokens, cols) in new[] { (16, 2, 64), (32, 9, 1280), (48, 70, 256), (16, 13, 2048) })
        {
            var m = Make(rows, cols, rng);
            var a = Activations(tokens, cols, rng, out long aRowBytes);
            long yStride = rows + 3;
            var y = new float[tokens * yStride];
            var expected = new float[rows];
            fixed (byte* pp = m.Packed)
            fixed (byte* pa = a)
            fixed (float* py = y)
            fixed (float* pe = expected)
            {
                Q4_0x16.Tile(pp, m.RowBytes, rows, pa, aRowBytes, tokens, cols, py, yStride);
                for (int t = 0; t < tokens; t++)
                {
                    Q4_0x16.Gemv(pp, rows / 16, pa + t * aRowBytes, cols, pe);
                    for (int r = 0; r < rows; r++)
                    {
                        double bound = Tolerance * AbsSum(m, r, a, t * aRowBytes, cols);
                        Assert.True(Math.Abs(py[t * yStride + r] - expected[r]) <= bound, $"{rows}x{cols}, token {t} row {r}: {py[t * yStride + r]} vs {expected[r]}");
                    }
                    for (long r = rows; r < yStride; r++) Assert.Equal(0f, py[t * yStride + r]); // stride gaps untouched
                }
            }
        }
    }

    [Fact]
    public void Repack_refuses_rows_that_fill_no_whole_group()
    {
        var bytes = new byte[17 * 18];
        var e = Assert.Throws<ArgumentException>(() => { fixed (byte* p = bytes) Q4_0x16.Repack(p, 17, 32); });
        Assert.Contains("17", e.Message);
    }
}
