using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q8_0Format
{
    /// <summary><see cref="DotQ8"/> of <paramref name="rows"/> weight rows with <paramref name="tokens"/> activation rows:
    /// <c>y[t·yStride + r] = DotQ8(w + r·wRowBytes, a + t·aRowBytes, n)</c> up to float rounding. Register tiles of 16 rows
    /// (8 with AVX2) × 8 tokens (4) decode each weight block once per tile, not once per token.</summary>
    public static void DotQ8Tile(byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n, float* y, long yStride)
    {
        Int8Tile.Validate(GgmlType.Q8_0, 32, 34, new(32, 34), wRowBytes, rows, aRowBytes, tokens, n, yStride);
        Fp16.EnsureTable();
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) Int8TileDriver<Q8_0Tile512>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
        else if (bits >= 256 && SimdTier.Has256) Int8TileDriver<Q8_0Tile256>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
        else Int8Tile.RowDots(w, wRowBytes, 0, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
    }
}

/// <summary>Q8_0 × Q8_0, 16 rows × 8 tokens. vpmaddubsw needs one unsigned operand and a signed byte times a signed byte
/// can saturate its pair sums, so each weight is split as w + 128 = 16·hi + lo (hi, lo in 0…15):
/// Σ w·y = 16·Σ hi·y + Σ lo·y − 128·Σy. Both nibble products sum over the block's eight steps in int16 (at most
/// 8·3840), so a block costs 16 vpmaddubsw and 2 vpmaddwd per token for 16 rows, and no sign fix-ups.</summary>
internal unsafe struct Q8_0Tile512 : IInt8TileBody
{
    public static int GroupRows => 16;
    public static int MaxTokens => 8;
    public static int BlockElements => 32;
    public static int WeightBlockBytes => 34;
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
        Int8Tile.GatherQ8_0(a, aRowBytes, c, blocks, act, dy, sums, 128);
        var offsets = Int8Tile.RowOffsets16(s);
        for (int g = 0; g < groups; g++)
        {
            byte* wg = w + g * 16 * s;
            Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
            Vector512<float> acc4 = default, acc5 = default, acc6 = default, acc7 = default;
            for (int b = 0; b < blocks; b++)
            {
                byte* blk = wg + b * 34;
                Int8Tile.Transpose16(blk + 2, s, out var d0, out var d1, out var d2, out var d3);
                Int8Tile.Transpose16(blk + 18, s, out var d4, out var d5, out var d6, out var d7);
                var split = new Split512(d0, d1, d2, d3, d4, d5, d6, d7);
                var dx = Int8Tile.GatherFp16(blk, offsets);
                int i = b * c;
                byte* q = act + 32 * i;
                acc0 = Token(in split, dx, q, dy + i, sums + i, acc0);
                if (c > 1) acc1 = Token(in split, dx, q + 32, dy + i + 1, sums + i + 1, acc1);
                if (c > 2) acc2 = Token(in split, dx, q + 64, dy + i + 2, sums + i + 2, acc2);
                if (c > 3) acc3 = Token(in split, dx, q + 96, dy + i + 3, sums + i + 3, acc3);
                if (c > 4) acc4 = Token(in split, dx, q + 128, dy + i + 4, sums + i + 4, acc4);
                if (c > 5) acc5 = Token(in split, dx, q + 160, dy + i + 5, sums + i + 5, acc5);
                if (c > 6) acc6 = Token(in split, dx, q + 192, dy + i + 6, sums + i + 6, acc6);
                if (c > 7) acc7 = Token(in split, dx, q + 224, dy + i + 7, sums + i + 7, acc7);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Token(in Split512 w, Vector512<float> dx, byte* q, float* dy, int* correction, Vector512<float> acc)
    {
        Vector512<sbyte> y0 = Int8Tile.Broadcast4x16(q), y1 = Int8Tile.Broadcast4x16(q + 4);
        Vector512<sbyte> y2 = Int8Tile.Broadcast4x16(q + 8), y3 = Int8Tile.Broadcast4x16(q + 12);
        var hi = (Int8Dot.MulAdd(w.Hi0, y0) + Int8Dot.MulAdd(w.Hi1, y1)) + (Int8Dot.MulAdd(w.Hi2, y2) + Int8Dot.MulAdd(w.Hi3, y3));
        var lo = (Int8Dot.MulAdd(w.Lo0, y0) + Int8Dot.MulAdd(w.Lo1, y1)) + (Int8Dot.MulAdd(w.Lo2, y2) + Int8Dot.MulAdd(w.Lo3, y3));
        Vector512<sbyte> y4 = Int8Tile.Broadcast4x16(q + 16), y5 = Int8Tile.Broadcast4x16(q + 20);
        Vector512<sbyte> y6 = Int8Tile.Broadcast4x16(q + 24), y7 = Int8Tile.Broadcast4x16(q + 28);
        hi += (Int8Dot.MulAdd(w.Hi4, y4) + Int8Dot.MulAdd(w.Hi5, y5)) + (Int8Dot.MulAdd(w.Hi6, y6) + Int8Dot.MulAdd(w.Hi7, y7));
        lo += (Int8Dot.MulAdd(w.Lo4, y4) + Int8Dot.MulAdd(w.Lo5, y5)) + (Int8Dot.MulAdd(w.Lo6, y6) + Int8Dot.MulAdd(w.Lo7, y7));
        var total = Avx512BWMadd(hi, Vector512.Create((short)16)) + Int8Dot.SumPairs(lo) - Vector512.Create(*correction);
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(total) * dx, Vector512.Create(*dy), acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Avx512BWMadd(Vector512<short> p, Vector512<short> m) => System.Runtime.Intrinsics.X86.Avx512BW.MultiplyAddAdjacent(p, m);

    /// <summary>Eight steps of 16 rows' weight bytes, biased to unsigned and split into nibbles.</summary>
    private readonly struct Split512(Vector512<byte> d0, Vector512<byte> d1, Vector512<byte> d2, Vector512<byte> d3,
        Vector512<byte> d4, Vector512<byte> d5, Vector512<byte> d6, Vector512<byte> d7)
    {
        public readonly Vector512<byte> Hi0 = HighNibbles(d0), Hi1 = HighNibbles(d1), Hi2 = HighNibbles(d2), Hi3 = HighNibbles(d3);
        public readonly Vector512<byte> Hi4 = HighNibbles(d4), Hi5 = HighNibbles(d5), Hi6 = HighNibbles(d6), Hi7 = HighNibbles(d7);
        public readonly Vector512<byte> Lo0 = LowNibbles(d0), Lo1 = LowNibbles(d1), Lo2 = LowNibbles(d2), Lo3 = LowNibbles(d3);
        public readonly Vector512<byte> Lo4 = LowNibbles(d4), Lo5 = LowNibbles(d5), Lo6 = LowNibbles(d6), Lo7 = LowNibbles(d7);

        private static Vector512<byte> HighNibbles(Vector512<byte> d) => ((d ^ Vector512.Create((byte)0x80)).AsUInt16() >>> 4).AsByte() & Vector512.Create((byte)0x0F);

        private static Vector512<byte> LowNibbles(Vector512<byte> d) => d & Vector512.Create((byte)0x0F);
    }
}

/// <summary><see cref="Q8_0Tile512"/> with 256-bit vectors: 8 rows × 4 tokens.</summary>
internal unsafe struct Q8_0Tile256 : IInt8TileBody
{
    public static int GroupRows => 8;
    public static int MaxTokens => 4;
    public static int BlockElements => 32;
    public static int WeightBlockBytes => 34;
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
        Int8Tile.GatherQ8_0(a, aRowBytes, c, blocks, act, dy, sums, 128);
        var offsets = Int8Tile.RowOffsets8(s);
        for (int g = 0; g < groups; g++)
        {
            byte* wg = w + g * 8 * s;
            Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
            for (int b = 0; b < blocks; b++)
            {
                byte* blk = wg + b * 34;
                Int8Tile.Transpose8(blk + 2, s, out var d0, out var d1, out var d2, out var d3);
                Int8Tile.Transpose8(blk + 18, s, out var d4, out var d5, out var d6, out var d7);
                var split = new Split256(d0, d1, d2, d3, d4, d5, d6, d7);
                var dx = Int8Tile.GatherFp16(blk, offsets);
                int i = b * c;
                byte* q = act + 32 * i;
                acc0 = Token(in split, dx, q, dy + i, sums + i, acc0);
                if (c > 1) acc1 = Token(in split, dx, q + 32, dy + i + 1, sums + i + 1, acc1);
                if (c > 2) acc2 = Token(in split, dx, q + 64, dy + i + 2, sums + i + 2, acc2);
                if (c > 3) acc3 = Token(in split, dx, q + 96, dy + i + 3, sums + i + 3, acc3);
            }
            float* yg = y + g * 8;
            Int8Tile.Store(acc0, yg, accumulate);
            if (c > 1) Int8Tile.Store(acc1, yg + yStride, accumulate);
            if (c > 2) Int8Tile.Store(acc2, yg + 2 * yStride, accumulate);
            if (c > 3) Int8Tile.Store(acc3, yg + 3 * yStride, accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Token(in Split256 w, Vector256<float> dx, byte* q, float* dy, int* correction, Vector256<float> acc)
    {
        Vector256<sbyte> y0 = Int8Tile.Broadcast4x8(q), y1 = Int8Tile.Broadcast4x8(q + 4);
        Vector256<sbyte> y2 = Int8Tile.Broadcast4x8(q + 8), y3 = Int8Tile.Broadcast4x8(q + 12);
        var hi = (Int8Dot.MulAdd(w.Hi0, y0) + Int8Dot.MulAdd(w.Hi1, y1)) + (Int8Dot.MulAdd(w.Hi2, y2) + Int8Dot.MulAdd(w.Hi3, y3));
        var lo = (Int8Dot.MulAdd(w.Lo0, y0) + Int8Dot.MulAdd(w.Lo1, y1)) + (Int8Dot.MulAdd(w.Lo2, y2) + Int8Dot.MulAdd(w.Lo3, y3));
        Vector256<sbyte> y4 = Int8Tile.Broadcast4x8(q + 16), y5 = Int8Tile.Broadcast4x8(q + 20);
        Vector256<sbyte> y6 = Int8Tile.Broadcast4x8(q + 24), y7 = Int8Tile.Broadcast4x8(q + 28);
        hi += (Int8Dot.MulAdd(w.Hi4, y4) + Int8Dot.MulAdd(w.Hi5, y5)) + (Int8Dot.MulAdd(w.Hi6, y6) + Int8Dot.MulAdd(w.Hi7, y7));
        lo += (Int8Dot.MulAdd(w.Lo4, y4) + Int8Dot.MulAdd(w.Lo5, y5)) + (Int8Dot.MulAdd(w.Lo6, y6) + Int8Dot.MulAdd(w.Lo7, y7));
        var total = System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(hi, Vector256.Create((short)16)) + Int8Dot.SumPairs(lo) - Vector256.Create(*correction);
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(total) * dx, Vector256.Create(*dy), acc);
    }

    private readonly struct Split256(Vector256<byte> d0, Vector256<byte> d1, Vector256<byte> d2, Vector256<byte> d3,
        Vector256<byte> d4, Vector256<byte> d5, Vector256<byte> d6, Vector256<byte> d7)
    {
        public readonly Vector256<byte> Hi0 = HighNibbles(d0), Hi1 = HighNibbles(d1), Hi2 = HighNibbles(d2), Hi3 = HighNibbles(d3);
        public readonly Vector256<byte> Hi4 = HighNibbles(d4), Hi5 = HighNibbles(d5), Hi6 = HighNibbles(d6), Hi7 = HighNibbles(d7);
        public readonly Vector256<byte> Lo0 = LowNibbles(d0), Lo1 = LowNibbles(d1), Lo2 = LowNibbles(d2), Lo3 = LowNibbles(d3);
        public readonly Vector256<byte> Lo4 = LowNibbles(d4), Lo5 = LowNibbles(d5), Lo6 = LowNibbles(d6), Lo7 = LowNibbles(d7);

        private static Vector256<byte> HighNibbles(Vector256<byte> d) => ((d ^ Vector256.Create((byte)0x80)).AsUInt16() >>> 4).AsByte() & Vector256.Create((byte)0x0F);

        private static Vector256<byte> LowNibbles(Vector256<byte> d) => d & Vector256.Create((byte)0x0F);
    }
}
