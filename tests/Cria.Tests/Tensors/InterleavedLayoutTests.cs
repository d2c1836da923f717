using Cria.Tensors;
using Cria.Tensors.Activations;
using Cria.Tensors.Interleaved;

namespace Cria.Tests.Tensors;

/// <summary>Rows repacked into groups of 16 interleaved rows (<see cref="Q4_0x16"/>, <see cref="Q4_Kx16"/>): the repack
/// loses nothing (every row dequantises to exactly what the stored row did), the one-token kernel equals the row dot
/// <c>DotQ8</c> (itself checked against ggml's vec_dot) within float rounding, its AVX-512 body and scalar fallback give
/// the same bits, and the multi-token tile over interleaved rows equals the one-token kernel. Tolerance as in
/// <see cref="DotQ8TileTests"/>: 1e-5 · Σ|w·x| (same integer block sums and scales, another float summation order).</summary>
[Collection(SimdTierCollection.Name)]
public sealed unsafe class InterleavedLayoutTests
{
    private const double Tolerance = 1e-5;

    /// <summary>The quantised layouts (the float ones are <see cref="HalfPairsLayoutTests"/>).</summary>
    private static IEnumerable<InterleavedLayout> Quantised => InterleavedLayout.All.Where(l => !l.FloatActivations);

    public static TheoryData<GgmlType> Types() => new(Quantised.Select(l => l.Type));

    public static TheoryData<GgmlType, int> TypesByTier()
    {
        var data = new TheoryData<GgmlType, int>();
        foreach (var l in Quantised)
            foreach (int tier in SimdTiers.All) data.Add(l.Type, tier);
        return data;
    }

    private static InterleavedLayout Layout(GgmlType type) => InterleavedLayout.All.Single(l => l.Type == type);

    private sealed class Matrix
    {
        public required GgmlType Type;
        public required byte[] Rows;     // as stored in the file
        public required byte[] Packed;   // repacked in place
        public required int RowCount, Cols;
        public long RowBytes => TensorTypeInfo.Get(Type).RowBytes(Cols);
    }

    private static Matrix Make(GgmlType type, int rows, int cols, Random rng)
    {
        var info = TensorTypeInfo.Get(type);
        long rowBytes = info.RowBytes(cols);
        var bytes = new byte[rows * rowBytes];
        for (int r = 0; r < rows; r++) TestBlocks.Random(type, cols / info.BlockElements, rng).CopyTo(bytes, r * rowBytes);
        var packed = (byte[])bytes.Clone();
        fixed (byte* p = packed) Assert.True(Layout(type).Repack(p, rows, cols));
        return new Matrix { Type = type, Rows = bytes, Packed = packed, RowCount = rows, Cols = cols };
    }

    /// <summary>Column counts: one block, a few, and more than one tile column chunk.</summary>
    private static int[] Widths(GgmlType type) => type == GgmlType.Q4_0 ? [32, 96, 1024, 2080] : [256, 768, 2048];

    private static byte[] Activations(GgmlType type, int tokens, int n, Random rng, out long rowBytes)
    {
        var kernels = Layout(type).Dot;
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
        float[] w = Q8DotMath.Weights(m.Type, m.Rows.AsSpan((int)(r * m.RowBytes), (int)m.RowBytes).ToArray(), n);
        double[] x = Q8DotMath.Dequantize(Layout(m.Type).Dot.ActivationType, a.AsSpan((int)offset), n);
        return Q8DotMath.Dot(w, x).SumAbs;
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Repacked_rows_dequantise_exactly_as_the_stored_rows(GgmlType type)
    {
        foreach (int cols in Widths(type))
        {
            var m = Make(type, 32, cols, new Random(cols));
            Assert.NotEqual(m.Rows, m.Packed); // the layout did change
            var expected = new float[cols];
            var actual = new float[cols];
            fixed (byte* rowsPtr = m.Rows)
            fixed (byte* packedPtr = m.Packed)
                for (int r = 0; r < m.RowCount; r++)
                {
                    new WeightMatrix("w", type, m.RowCount, cols, rowsPtr).DequantizeRow(r, expected);
                    new WeightMatrix(TensorData.Contiguous("w", "w", type, [cols, m.RowCount], packedPtr), Layout(type)).DequantizeRow(r, actual);
                    Assert.Equal(expected, actual);
                }
        }
    }

    [Theory]
    [MemberData(nameof(TypesByTier))]
    public void One_token_equals_the_row_dots(GgmlType type, int tier)
    {
        using var tierScope = SimdTiers.Use(tier);
        var rng = new Random(tier + 5);
        var layout = Layout(type);
        foreach (int cols in Widths(type))
        {
            int rows = cols < 1000 ? 48 : 32;
            var m = Make(type, rows, cols, rng);
            var a = Activations(type, 1, cols, rng, out _);
            var y = new float[rows];
            fixed (byte* pw = m.Rows)
            fixed (byte* pp = m.Packed)
            fixed (byte* pa = a)
            fixed (float* py = y)
            {
                layout.Gemv(pp, rows / 16, pa, cols, py);
                for (int r = 0; r < rows; r++)
                {
                    float expected = layout.Dot.DotQ8(pw + r * m.RowBytes, pa, cols);
                    double bound = Tolerance * AbsSum(m, r, a, 0, cols);
                    Assert.True(Math.Abs(y[r] - expected) <= bound, $"{type} {rows}x{cols} row {r}: {y[r]} vs DotQ8 {expected} (bound {bound})");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Vector_and_scalar_bodies_give_the_same_bits(GgmlType type)
    {
        var rng = new Random(11);
        var m = Make(type, 64, 4096, rng);
        var a = Activations(type, 1, 4096, rng, out _);
        var wide = new float[64];
        var scalar = new float[64];
        fixed (byte* pp = m.Packed)
        fixed (byte* pa = a)
        {
            fixed (float* py = wide) Layout(type).Gemv(pp, 4, pa, 4096, py);
            using (SimdTiers.Use(0))
                fixed (float* py = scalar) Layout(type).Gemv(pp, 4, pa, 4096, py);
        }
        Assert.Equal(scalar, wide);
    }

    [Theory]
    [MemberData(nameof(TypesByTier))]
    public void Tile_over_interleaved_rows_equals_one_token_at_a_time(GgmlType type, int tier)
    {
        using var tierScope = SimdTiers.Use(tier);
        var rng = new Random(tier + 17);
        var layout = Layout(type);
        int wide = type == GgmlType.Q4_0 ? 1280 : 1536; // more than one column chunk of the tile
        foreach (var (rows, tokens, cols) in new[] { (16, 2, 256), (32, 9, wide), (48, 70, 256), (16, 13, 2048) })
        {
            var m = Make(type, rows, cols, rng);
            var a = Activations(type, tokens, cols, rng, out long aRowBytes);
            long yStride = rows + 3;
            var y = new float[tokens * yStride];
            var expected = new float[rows];
            fixed (byte* pp = m.Packed)
            fixed (byte* pa = a)
            fixed (float* py = y)
            fixed (float* pe = expected)
            {
                layout.Tile(pp, m.RowBytes, rows, pa, aRowBytes, tokens, cols, py, yStride);
                for (int t = 0; t < tokens; t++)
                {
                    layout.Gemv(pp, rows / 16, pa + t * aRowBytes, cols, pe);
                    for (int r = 0; r < rows; r++)
                    {
                        double bound = Tolerance * AbsSum(m, r, a, t * aRowBytes, cols);
                        Assert.True(Math.Abs(py[t * yStride + r] - expected[r]) <= bound, $"{type} {rows}x{cols}, token {t} row {r}: {py[t * yStride + r]} vs {expected[r]}");
                    }
                    for (long r = rows; r < yStride; r++) Assert.Equal(0f, py[t * yStride + r]); // stride gaps untouched
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Repack_refuses_rows_that_fill_no_whole_group(GgmlType type)
    {
        var bytes = new byte[17 * TensorTypeInfo.Get(type).RowBytes(256)];
        var e = Assert.Throws<ArgumentException>(() => { fixed (byte* p = bytes) Layout(type).Repack(p, 17, 256); });
        Assert.Contains("17", e.Message);
    }
}
