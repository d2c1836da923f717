using System.Runtime.InteropServices;
using Cria.Tensors;
using Cria.Tensors.Activations;

namespace Cria.Tests.Tensors;

/// <summary>Every <see cref="QuantizedDotKernels.DotQ8Tile"/> on every SIMD tier equals <see cref="QuantizedDotKernels.DotQ8"/>
/// per (row, token): random weight blocks (finite fp16 scales, every quant byte random) and random activations quantised
/// by the registry's quantiser, row and token counts that fill no whole tile, 1…several blocks, a run longer than a
/// column chunk, and strides longer than the rows (whose gaps must stay untouched). Tolerance |tile − dot| ≤ 1e-5 ·
/// Σ|w·x|: both sum the same integer block sums times the same scales and differ only in float rounding order (a
/// few ulps of the block terms), while one wrong quant or scale moves a result by far more.</summary>
[Collection(SimdTierCollection.Name)]
public sealed unsafe class DotQ8TileTests
{
    private const double Tolerance = 1e-5;

    public static IEnumerable<GgmlType> TiledTypes =>
        QuantizedDotKernels.SupportedTypes.Where(t => QuantizedDotKernels.TryGet(t, out var k) && k.DotQ8Tile != null).Order();

    public static TheoryData<GgmlType, int> TiledTypesByTier()
    {
        var data = new TheoryData<GgmlType, int>();
        foreach (var type in TiledTypes)
            foreach (int tier in SimdTiers.All) data.Add(type, tier);
        return data;
    }

    /// <summary>(rows, tokens, elements): counts below, at and above the 16-row groups and 8-token tiles, more tokens than
    /// one 64-token panel, more columns than one column chunk.</summary>
    private static readonly (int Rows, int Tokens, int Elements)[] Shapes =
    [
        (1, 1, 256), (3, 5, 512), (5, 3, 256), (16, 8, 256), (17, 17, 768), (67, 13, 1280), (16, 1, 1792),
        (48, 4, 512), (8, 2, 256), (19, 10, 4608), (20, 70, 512), (33, 131, 256),
    ];

    [Theory]
    [MemberData(nameof(TiledTypesByTier))]
    public void Tile_equals_row_dots(GgmlType type, int tier)
    {
        using var _ = SimdTiers.Use(tier);
        var rng = new Random(100 * (int)type + tier);
        foreach (var (rows, tokens, elements) in Shapes) Check(type, tier, rows, tokens, elements, rng);
        // Blocks of 32: also lengths that are no multiple of 256.
        if (TensorTypeInfo.Get(type).BlockElements == 32)
            foreach (int elements in new[] { 32, 64, 96, 160, 224 }) Check(type, tier, 21, 7, elements, rng);
    }

    [Theory]
    [MemberData(nameof(TiledTypesByTier))]
    public void Tile_handles_empty_inputs(GgmlType type, int tier)
    {
        using var _ = SimdTiers.Use(tier);
        var rng = new Random(7);
        Check(type, tier, 0, 5, 256, rng);
        Check(type, tier, 5, 0, 256, rng);
        Check(type, tier, 17, 9, 0, rng);
    }

    /// <summary>A matmul splits its rows over threads: each row's result must be the same bits whatever chunk of rows it
    /// arrives in (the last rows of a call, which fill no whole group, included), so that results do not depend on the
    /// thread count.</summary>
    [Theory]
    [MemberData(nameof(TiledTypesByTier))]
    public void Results_do_not_depend_on_how_rows_are_split(GgmlType type, int tier)
    {
        using var _ = SimdTiers.Use(tier);
        var rng = new Random(300 * (int)type + tier);
        Assert.True(QuantizedDotKernels.TryGet(type, out var kernels));
        const int rows = 40, tokens = 11, n = 512;
        var info = TensorTypeInfo.Get(type);
        long rowBytes = info.RowBytes(n), aRowBytes = ActivationLayout.RowBytes(kernels.ActivationType, n);
        byte[] w = new byte[rows * rowBytes];
        for (int r = 0; r < rows; r++) TestBlocks.Random(type, n / info.BlockElements, rng).CopyTo(w, r * rowBytes);
        byte[] a = new byte[tokens * aRowBytes];
        fixed (byte* pw = w)
        fixed (byte* pa = a)
        {
            for (int t = 0; t < tokens; t++)
                fixed (float* px = TestBlocks.Activations(n, rng)) kernels.QuantizeActivations(px, pa + t * aRowBytes, n);
            float[] whole = Split(kernels, pw, rowBytes, pa, aRowBytes, tokens, n, rows, [0, rows]);
            foreach (int[] bounds in new[] { new[] { 0, 17, rows }, [0, 3, rows], [0, 16, 32, rows], [0, 1, 2, 9, rows] })
            {
                float[] split = Split(kernels, pw, rowBytes, pa, aRowBytes, tokens, n, rows, bounds);
                for (int i = 0; i < whole.Length; i++)
                    Assert.True(BitConverter.SingleToInt32Bits(whole[i]) == BitConverter.SingleToInt32Bits(split[i]),
                        $"{type} tier {tier}: row {i % rows} token {i / rows} split at [{string.Join(", ", bounds)}]: {split[i]:R}, in one call {whole[i]:R}");
            }
        }
    }

    private static float[] Split(QuantizedDotKernels kernels, byte* w, long rowBytes, byte* a, long aRowBytes, int tokens, int n, int rows, int[] bounds)
    {
        float[] y = new float[tokens * rows];
        fixed (float* py = y)
            for (int i = 0; i + 1 < bounds.Length; i++)
                kernels.DotQ8Tile(w + bounds[i] * rowBytes, rowBytes, bounds[i + 1] - bounds[i], a, aRowBytes, tokens, n, py + bounds[i], rows);
        return y;
    }

    [Fact]
    public void Bad_arguments_are_clear_errors()
    {
        foreach (var type in TiledTypes)
        {
            QuantizedDotKernels.TryGet(type, out var k);
            long rowBytes = TensorTypeInfo.Get(type).RowBytes(256);
            long aBytes = ActivationLayout.RowBytes(k.ActivationType, 256);
            int block = TensorTypeInfo.Get(type).BlockElements;
            var ex = Assert.Throws<ArgumentException>(() => Call(k, rowBytes, 2, aBytes, 2, 256 + block / 2, 2));
            Assert.Contains("n = ", ex.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => Call(k, rowBytes, -1, aBytes, 2, 256, 2));
            Assert.Contains("stride", Assert.Throws<ArgumentException>(() => Call(k, rowBytes - 1, 2, aBytes, 2, 256, 2)).Message);
            Assert.Contains("stride", Assert.Throws<ArgumentException>(() => Call(k, rowBytes, 2, aBytes - 1, 2, 256, 2)).Message);
            Assert.Contains("stride", Assert.Throws<ArgumentException>(() => Call(k, rowBytes, 3, aBytes, 2, 256, 2)).Message);
            Assert.Contains("no output", Assert.Throws<ArgumentNullException>(() => Call(k, rowBytes, 2, aBytes, 2, 256, 2)).Message);
            Call(k, rowBytes, 0, aBytes, 2, 256, 2); // nothing to compute: null data is fine
        }
    }

    private static void Call(QuantizedDotKernels k, long wRowBytes, int rows, long aRowBytes, int tokens, int n, long yStride)
    {
        // The checks come before any memory is read, so null data is never touched.
        k.DotQ8Tile(null, wRowBytes, rows, null, aRowBytes, tokens, n, null, yStride);
    }

    private static void Check(GgmlType type, int tier, int rows, int tokens, int n, Random rng)
    {
        Assert.True(QuantizedDotKernels.TryGet(type, out var kernels));
        var info = TensorTypeInfo.Get(type);
        int blocks = n / info.BlockElements;
        long rowBytes = info.RowBytes(n);
        long wRowBytes = rowBytes + 13;                                  // odd padding: rows start unaligned
        long aRowBytes = ActivationLayout.RowBytes(kernels.ActivationType, n) + 5;
        long yStride = rows + 3;

        byte[] w = new byte[Math.Max(1, rows * wRowBytes)];
        rng.NextBytes(w);
        float[][] weights = new float[rows][];
        float[][] x = new float[tokens][];
        byte[] a = new byte[Math.Max(1, tokens * aRowBytes)];
        rng.NextBytes(a);
        float[] y = new float[Math.Max(1, tokens * yStride)];
        Array.Fill(y, float.NaN);
        fixed (byte* pw = w)
        fixed (byte* pa = a)
        fixed (float* py = y)
        {
            for (int r = 0; r < rows; r++)
            {
                TestBlocks.Random(type, blocks, rng).CopyTo(new Span<byte>(pw + r * wRowBytes, (int)rowBytes));
                weights[r] = DequantDigest.Dequantize(type, pw + r * wRowBytes, n);
            }
            for (int t = 0; t < tokens; t++)
            {
                x[t] = TestBlocks.Activations(n, rng);
                fixed (float* px = x[t]) kernels.QuantizeActivations(px, pa + t * aRowBytes, n);
            }

            kernels.DotQ8Tile(pw, wRowBytes, rows, pa, aRowBytes, tokens, n, py, yStride);

            for (int t = 0; t < tokens; t++)
            {
                for (int r = 0; r < rows; r++)
                {
                    float expected = kernels.DotQ8(pw + r * wRowBytes, pa + t * aRowBytes, n);
                    float actual = py[t * yStride + r];
                    double magnitude = 0;
                    for (int j = 0; j < n; j++) magnitude += Math.Abs((double)weights[r][j] * x[t][j]);
                    double error = Math.Abs((double)actual - expected);
                    Assert.True(error <= Tolerance * magnitude,
                        $"{type} tier {tier} (runs {SimdTier.Effective(tier)}), {rows} rows × {tokens} tokens × {n}: row {r} token {t}: " +
                        $"tile {actual:R}, DotQ8 {expected:R}, error {error:E2} > {Tolerance:E0} × Σ|w·x| = {Tolerance * magnitude:E2}");
                }
                for (long r = rows; r < yStride && t * yStride + r < y.Length; r++)
                    Assert.True(float.IsNaN(py[t * yStride + r]), $"{type} tier {tier}: wrote into the gap at token {t}, column {r}");
            }
        }
    }
}
