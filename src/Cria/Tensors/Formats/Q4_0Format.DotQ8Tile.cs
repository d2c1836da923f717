using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q4_0Format
{
    /// <summary><see cref="DotQ8"/> of <paramref name="rows"/> weight rows with <paramref name="tokens"/> activation rows:
    /// <c>y[t·yStride + r] = DotQ8(w + r·wRowBytes, a + t·aRowBytes, n)</c> up to float rounding. Register tiles of 16 rows
    /// (8 with AVX2) × 8 tokens (4) decode each weight block once per tile, not once per token.</summary>
    public static void DotQ8Tile(byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n, float* y, long yStride)
    {
        Int8Tile.Validate(GgmlType.Q4_0, 32, 18, new(32, 34), wRowBytes, rows, aRowBytes, tokens, n, yStride);
        Fp16.EnsureTable();
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) Int8TileDriver<Q4_0Tile512>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
        else if (bits >= 256 && SimdTier.Has256) Int8TileDriver<Q4_0Tile256>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
        else Int8Tile.RowDots(w, wRowBytes, 0, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
    }
}

/// <summary>Q4_0 × Q8_0, 16 rows × 8 tokens: per block, the unsigned nibbles of 16 rows in eight vectors (four bytes a
/// row each), times each token's broadcast quants; Σ(q − 8)·y = Σ q·y − 8·Σy with Σy once per token block.</summary>
internal unsafe struct Q4_0Tile512 : IInt8TileBody
{
    public static int GroupRows => 16;
    public static int MaxTokens => 8;
    public static int BlockElements => 32;
    public static int WeightBlockBytes => 18;
    public static int ActivationBlockBytes => 34;
    public static int ChunkBlocks => 64;

    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    public static void Tile<TN>(byte* w, long s, int groups, byte* a, long aRowBytes, int blocks, float* y, long yStride, bool accumulate)
        where TN : struct, ITileTokens
    {
        int c = TN.Count;
        byte* act = stackalloc byte[64 * 8 * 32];
        float* dy = stackalloc float[64 * 8];
        int* sums = stackalloc int[64 * 8];
        Int8Tile.GatherQ8_0(a, aRowBytes, c, blocks, act, dy, sums, 8);
        var offsets = Int8Tile.RowOffsets16(s);
        var low = Vector512.Create((byte)0x0F);
        for (int g = 0; g < groups; g++)
        {
            byte* wg = w + g * 16 * s;
            Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
            Vector512<float> acc4 = default, acc5 = default, acc6 = default, acc7 = default;
            for (int b = 0; b < blocks; b++)
            {
                byte* blk = wg + b * 18;
                Int8Tile.Transpose16(blk + 2, s, out var d0, out var d1, out var d2, out var d3);
                // Word k's low nibbles are elements 4k…4k+3, its high nibbles elements 16 + 4k…
                var w0 = d0 & low; var w1 = d1 & low; var w2 = d2 & low; var w3 = d3 & low;
                var w4 = (d0.AsUInt16() >>> 4).AsByte() & low; var w5 = (d1.AsUInt16() >>> 4).AsByte() & low;
                var w6 = (d2.AsUInt16() >>> 4).AsByte() & low; var w7 = (d3.AsUInt16() >>> 4).AsByte() & low;
                var dx = Int8Tile.GatherFp16(blk, offsets);
                int i = b * c;
                byte* q = act + 32 * i;
                acc0 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q, dy + i, sums + i, acc0);
                if (c > 1) acc1 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q + 32, dy + i + 1, sums + i + 1, acc1);
                if (c > 2) acc2 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q + 64, dy + i + 2, sums + i + 2, acc2);
                if (c > 3) acc3 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q + 96, dy + i + 3, sums + i + 3, acc3);
                if (c > 4) acc4 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q + 128, dy + i + 4, sums + i + 4, acc4);
                if (c > 5) acc5 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q + 160, dy + i + 5, sums + i + 5, acc5);
                if (c > 6) acc6 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q + 192, dy + i + 6, sums + i + 6, acc6);
                if (c > 7) acc7 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q + 224, dy + i + 7, sums + i + 7, acc7);
            }
            float* yg = y + g * 16;
            Int8Tile.Store(acc0, yg, accumulate);
            if (c > 1) Int8Tile.Store(acc1, yg + yStride, accumulate);
            if (c > 2) Int8Tile.Store(acc2, yg + 2 * yStride, accumulate);
            if (c > 3) Int8Tile.Store(acc3, yg + 3 * yStride, accumulate);
            if (c > 4) Int8Tile.Store(acc4, yg + 4 * yStride, accumulate);
            if (c > 5) Int8Tile.Store(acc5, yg + 5 * yStride, accumulate);
            if (c > 6) Int8Tile.Store(acc6, yg + 6 * yStride, accumulate);
            if (c > 7) Int8Tile.Store(acc7, yg + 7 * yStride, accumulate);
        }
    }

    /// <summary>One token's block against the 16 rows: the eight products summed as int16 (each at most 8·3840 in
    /// magnitude), pairs to int32, less 8·Σy, then scaled by dx·dy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Token(Vector512<byte> w0, Vector512<byte> w1, Vector512<byte> w2, Vector512<byte> w3,
        Vector512<byte> w4, Vector512<byte> w5, Vector512<byte> w6, Vector512<byte> w7, Vector512<float> dx,
        byte* q, float* dy, int* correction, Vector512<float> acc)
    {
        var p = (Int8Dot.MulAdd(w0, Int8Tile.Broadcast4x16(q)) + Int8Dot.MulAdd(w1, Int8Tile.Broadcast4x16(q + 4)))
            + (Int8Dot.MulAdd(w2, Int8Tile.Broadcast4x16(q + 8)) + Int8Dot.MulAdd(w3, Int8Tile.Broadcast4x16(q + 12)))
            + ((Int8Dot.MulAdd(w4, Int8Tile.Broadcast4x16(q + 16)) + Int8Dot.MulAdd(w5, Int8Tile.Broadcast4x16(q + 20)))
            + (Int8Dot.MulAdd(w6, Int8Tile.Broadcast4x16(q + 24)) + Int8Dot.MulAdd(w7, Int8Tile.Broadcast4x16(q + 28))));
        var total = Int8Dot.SumPairs(p) - Vector512.Create(*correction);
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(total) * dx, Vector512.Create(*dy), acc);
    }
}

/// <summary><see cref="Q4_0Tile512"/> with 256-bit vectors: 8 rows × 4 tokens (16 registers).</summary>
internal unsafe struct Q4_0Tile256 : IInt8TileBody
{
    public static int GroupRows => 8;
    public static int MaxTokens => 4;
    public static int BlockElements => 32;
    public static int WeightBlockBytes => 18;
    public static int ActivationBlockBytes => 34;
    public static int ChunkBlocks => 64;

    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    public static void Tile<TN>(byte* w, long s, int groups, byte* a, long aRowBytes, int blocks, float* y, long yStride, bool accumulate)
        where TN : struct, ITileTokens
    {
        int c = TN.Count;
        byte* act = stackalloc byte[64 * 4 * 32];
        float* dy = stackalloc float[64 * 4];
        int* sums = stackalloc int[64 * 4];
        Int8Tile.GatherQ8_0(a, aRowBytes, c, blocks, act, dy, sums, 8);
        var offsets = Int8Tile.RowOffsets8(s);
        var low = Vector256.Create((byte)0x0F);
        for (int g = 0; g < groups; g++)
        {
            byte* wg = w + g * 8 * s;
            Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
            for (int b = 0; b < blocks; b++)
            {
                byte* blk = wg + b * 18;
                Int8Tile.Transpose8(blk + 2, s, out var d0, out var d1, out var d2, out var d3);
                var w0 = d0 & low; var w1 = d1 & low; var w2 = d2 & low; var w3 = d3 & low;
                var w4 = (d0.AsUInt16() >>> 4).AsByte() & low; var w5 = (d1.AsUInt16() >>> 4).AsByte() & low;
                var w6 = (d2.AsUInt16() >>> 4).AsByte() & low; var w7 = (d3.AsUInt16() >>> 4).AsByte() & low;
                var dx = Int8Tile.GatherFp16(blk, offsets);
                int i = b * c;
                byte* q = act + 32 * i;
                acc0 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q, dy + i, sums + i, acc0);
                if (c > 1) acc1 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q + 32, dy + i + 1, sums + i + 1, acc1);
                if (c > 2) acc2 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q + 64, dy + i + 2, sums + i + 2, acc2);
                if (c > 3) acc3 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q + 96, dy + i + 3, sums + i + 3, acc3);
            }
            float* yg = y + g * 8;
            Int8Tile.Store(acc0, yg, accumulate);
            if (c > 1) Int8Tile.Store(acc1, yg + yStride, accumulate);
            if (c > 2) Int8Tile.Store(acc2, yg + 2 * yStride, accumulate);
            if (c > 3) Int8Tile.Store(acc3, yg + 3 * yStride, accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Token(Vector256<byte> w0, Vector256<byte> w1, Vector256<byte> w2, Vector256<byte> w3,
        Vector256<byte> w4, Vector256<byte> w5, Vector256<byte> w6, Vector256<byte> w7, Vector256<float> dx,
        byte* q, float* dy, int* correction, Vector256<float> acc)
    {
        var p = (Int8Dot.MulAdd(w0, Int8Tile.Broadcast4x8(q)) + Int8Dot.MulAdd(w1, Int8Tile.Broadcast4x8(q + 4)))
            + (Int8Dot.MulAdd(w2, Int8Tile.Broadcast4x8(q + 8)) + Int8Dot.MulAdd(w3, Int8Tile.Broadcast4x8(q + 12)))
            + ((Int8Dot.MulAdd(w4, Int8Tile.Broadcast4x8(q + 16)) + Int8Dot.MulAdd(w5, Int8Tile.Broadcast4x8(q + 20)))
            + (Int8Dot.MulAdd(w6, Int8Tile.Broadcast4x8(q + 24)) + Int8Dot.MulAdd(w7, Int8Tile.Broadcast4x8(q + 28))));
        var total = Int8Dot.SumPairs(p) - Vector256.Create(*correction);
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(total) * dx, Vector256.Create(*dy), acc);
    }
}
