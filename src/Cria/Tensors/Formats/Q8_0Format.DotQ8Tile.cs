using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q8_0Format
{
    /// <summary><see cref="DotQ8"/> of <paramref name="rows"/> weight rows with <paramref name="tokens"/> activation rows:
    /// <c>y[t·yStride + r] = DotQ8(w + r·wRowBytes, a + t·aRowBytes, n)</c> up to float rounding. Groups of 16 rows (8 with
    /// AVX2) are decoded once per 64 tokens into an L1 panel, multiplied by register tiles of 8 tokens (4).</summary>
    public static void DotQ8Tile(byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n, float* y, long yStride)
    {
        Int8Tile.Validate(GgmlType.Q8_0, 32, 34, new(32, 34), w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride);
        Fp16.EnsureTable();
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) Int8TileDriver<Q8_0Tile512>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
        else if (bits >= 256 && SimdTier.Has256) Int8TileDriver<Q8_0Tile256>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
        else Int8Tile.RowDots(w, wRowBytes, 0, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
    }
}

/// <summary>Q8_0 × Q8_0 on 16 rows. vpmaddubsw needs one unsigned operand and a signed byte times a signed byte can
/// saturate its pair sums, so each weight is split as w + 128 = 16·hi + lo (hi, lo in 0…15):
/// Σ w·y = 16·Σ hi·y + Σ lo·y − 128·Σy. Each nibble product sums over the block's eight steps in int16 (at most
/// 8·3840), so a block costs 16 vpmaddubsw and 2 vpmaddwd per token for 16 rows, and no sign fix-ups. Register tile:
/// 8 tokens; the 16 weight vectors come from the L1 panel as each token needs them (holding them all plus the
/// accumulators would not fit the 32 registers, and the loads cost less than the extra vpmaddwd of half blocks).</summary>
internal unsafe struct Q8_0Tile512 : IInt8TileBody
{
    public static int GroupRows => 16;
    public static int MaxTokens => 8;
    public static int BlockElements => 32;
    public static int WeightBlockBytes => 34;
    public static int ActivationBlockBytes => 34;
    public static int ChunkBlocks => 16;
    public static int PackedBlockBytes => 17 * 64; // hi nibbles of eight steps, lo nibbles, 16 float scales

    public static int TermInts => 1;

    public static void PrepareActivations(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* corrections) =>
        Int8Tile.PrepareQ8_0(a, aRowBytes, tokens, blocks, scales, corrections, 128);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long s, int blocks, byte* packed)
    {
        var offsets = Int8Tile.RowOffsets16(s);
        for (int b = 0; b < blocks; b++, w += 34, packed += 17 * 64)
        {
            Int8Tile.Transpose16(w + 2, s, out var d0, out var d1, out var d2, out var d3);
            Split(d0, packed, 0); Split(d1, packed, 1); Split(d2, packed, 2); Split(d3, packed, 3);
            Int8Tile.Transpose16(w + 18, s, out var d4, out var d5, out var d6, out var d7);
            Split(d4, packed, 4); Split(d5, packed, 5); Split(d6, packed, 6); Split(d7, packed, 7);
            Int8Tile.GatherFp16(w, offsets).Store((float*)(packed + 16 * 64));
        }
    }

    /// <summary>Step k's weights, biased to unsigned, as high nibbles at 64k and low nibbles at 64(8 + k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Split(Vector512<byte> d, byte* packed, int k)
    {
        var low = Vector512.Create((byte)0x0F);
        (((d ^ Vector512.Create((byte)0x80)).AsUInt16() >>> 4).AsByte() & low).Store(packed + 64 * k);
        (d & low).Store(packed + 64 * (8 + k));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Micro<TN>(byte* packed, int blocks, byte* a, long aRowBytes, float* scales, int* corrections,
        int termStride, float* y, long yStride, bool accumulate) where TN : struct, ITileTokens
    {
        int c = TN.Count;
        long s = aRowBytes, s3 = 3 * aRowBytes;
        byte* a4 = a + 4 * aRowBytes;
        Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        Vector512<float> acc4 = default, acc5 = default, acc6 = default, acc7 = default;
        for (int b = 0; b < blocks; b++, packed += 17 * 64, scales += termStride, corrections += termStride)
        {
            byte* q = a + b * 34 + 2, q4 = a4 + b * 34 + 2;
            var dx = Vector512.Load((float*)(packed + 16 * 64));
            acc0 = Scale(Block(packed, q), dx, scales, corrections, acc0);
            if (c > 1) acc1 = Scale(Block(packed, q + s), dx, scales + 1, corrections + 1, acc1);
            if (c > 2) acc2 = Scale(Block(packed, q + 2 * s), dx, scales + 2, corrections + 2, acc2);
            if (c > 3) acc3 = Scale(Block(packed, q + s3), dx, scales + 3, corrections + 3, acc3);
            if (c > 4) acc4 = Scale(Block(packed, q4), dx, scales + 4, corrections + 4, acc4);
            if (c > 5) acc5 = Scale(Block(packed, q4 + s), dx, scales + 5, corrections + 5, acc5);
            if (c > 6) acc6 = Scale(Block(packed, q4 + 2 * s), dx, scales + 6, corrections + 6, acc6);
            if (c > 7) acc7 = Scale(Block(packed, q4 + s3), dx, scales + 7, corrections + 7, acc7);
        }
        Int8Tile.Store(acc0, y, accumulate);
        if (c > 1) Int8Tile.Store(acc1, y + yStride, accumulate);
        if (c > 2) Int8Tile.Store(acc2, y + 2 * yStride, accumulate);
        if (c > 3) Int8Tile.Store(acc3, y + 3 * yStride, accumulate);
        if (c > 4) Int8Tile.Store(acc4, y + 4 * yStride, accumulate);
        if (c > 5) Int8Tile.Store(acc5, y + 5 * yStride, accumulate);
        if (c > 6) Int8Tile.Store(acc6, y + 6 * yStride, accumulate);
        if (c > 7) Int8Tile.Store(acc7, y + 7 * yStride, accumulate);
    }

    /// <summary>16·Σ hi·y + Σ lo·y over the block's eight steps for one token (int16 sums at most 8·3840).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Block(byte* packed, byte* q)
    {
        Vector512<sbyte> y0 = Int8Tile.Broadcast4x16(q), y1 = Int8Tile.Broadcast4x16(q + 4);
        Vector512<sbyte> y2 = Int8Tile.Broadcast4x16(q + 8), y3 = Int8Tile.Broadcast4x16(q + 12);
        var hi = (Int8Dot.MulAdd(Vector512.Load(packed), y0) + Int8Dot.MulAdd(Vector512.Load(packed + 64), y1))
            + (Int8Dot.MulAdd(Vector512.Load(packed + 128), y2) + Int8Dot.MulAdd(Vector512.Load(packed + 192), y3));
        var lo = (Int8Dot.MulAdd(Vector512.Load(packed + 512), y0) + Int8Dot.MulAdd(Vector512.Load(packed + 576), y1))
            + (Int8Dot.MulAdd(Vector512.Load(packed + 640), y2) + Int8Dot.MulAdd(Vector512.Load(packed + 704), y3));
        Vector512<sbyte> y4 = Int8Tile.Broadcast4x16(q + 16), y5 = Int8Tile.Broadcast4x16(q + 20);
        Vector512<sbyte> y6 = Int8Tile.Broadcast4x16(q + 24), y7 = Int8Tile.Broadcast4x16(q + 28);
        hi += (Int8Dot.MulAdd(Vector512.Load(packed + 256), y4) + Int8Dot.MulAdd(Vector512.Load(packed + 320), y5))
            + (Int8Dot.MulAdd(Vector512.Load(packed + 384), y6) + Int8Dot.MulAdd(Vector512.Load(packed + 448), y7));
        lo += (Int8Dot.MulAdd(Vector512.Load(packed + 768), y4) + Int8Dot.MulAdd(Vector512.Load(packed + 832), y5))
            + (Int8Dot.MulAdd(Vector512.Load(packed + 896), y6) + Int8Dot.MulAdd(Vector512.Load(packed + 960), y7));
        return Avx512BW.MultiplyAddAdjacent(hi, Vector512.Create((short)16)) + Int8Dot.SumPairs(lo);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Scale(Vector512<int> sum, Vector512<float> dx, float* dy, int* correction, Vector512<float> acc) =>
        Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum - Vector512.Create(*correction)) * dx, Vector512.Create(*dy), acc);
}

/// <summary><see cref="Q8_0Tile512"/> with 256-bit vectors: 8 rows, register tile of 4 tokens.</summary>
internal unsafe struct Q8_0Tile256 : IInt8TileBody
{
    public static int GroupRows => 8;
    public static int MaxTokens => 4;
    public static int BlockElements => 32;
    public static int WeightBlockBytes => 34;
    public static int ActivationBlockBytes => 34;
    public static int ChunkBlocks => 32;
    public static int PackedBlockBytes => 17 * 32;

    public static int TermInts => 1;

    public static void PrepareActivations(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* corrections) =>
        Int8Tile.PrepareQ8_0(a, aRowBytes, tokens, blocks, scales, corrections, 128);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long s, int blocks, byte* packed)
    {
        var offsets = Int8Tile.RowOffsets8(s);
        for (int b = 0; b < blocks; b++, w += 34, packed += 17 * 32)
        {
            Int8Tile.Transpose8(w + 2, s, out var d0, out var d1, out var d2, out var d3);
            Split(d0, packed, 0); Split(d1, packed, 1); Split(d2, packed, 2); Split(d3, packed, 3);
            Int8Tile.Transpose8(w + 18, s, out var d4, out var d5, out var d6, out var d7);
            Split(d4, packed, 4); Split(d5, packed, 5); Split(d6, packed, 6); Split(d7, packed, 7);
            Int8Tile.GatherFp16(w, offsets).Store((float*)(packed + 16 * 32));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Split(Vector256<byte> d, byte* packed, int k)
    {
        var low = Vector256.Create((byte)0x0F);
        (((d ^ Vector256.Create((byte)0x80)).AsUInt16() >>> 4).AsByte() & low).Store(packed + 32 * k);
        (d & low).Store(packed + 32 * (8 + k));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Micro<TN>(byte* packed, int blocks, byte* a, long aRowBytes, float* scales, int* corrections,
        int termStride, float* y, long yStride, bool accumulate) where TN : struct, ITileTokens
    {
        int c = TN.Count;
        long s = aRowBytes, s3 = 3 * aRowBytes;
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int b = 0; b < blocks; b++, packed += 17 * 32, scales += termStride, corrections += termStride)
        {
            byte* q = a + b * 34 + 2;
            var dx = Vector256.Load((float*)(packed + 16 * 32));
            acc0 = Scale(Block(packed, q), dx, scales, corrections, acc0);
            if (c > 1) acc1 = Scale(Block(packed, q + s), dx, scales + 1, corrections + 1, acc1);
            if (c > 2) acc2 = Scale(Block(packed, q + 2 * s), dx, scales + 2, corrections + 2, acc2);
            if (c > 3) acc3 = Scale(Block(packed, q + s3), dx, scales + 3, corrections + 3, acc3);
        }
        Int8Tile.Store(acc0, y, accumulate);
        if (c > 1) Int8Tile.Store(acc1, y + yStride, accumulate);
        if (c > 2) Int8Tile.Store(acc2, y + 2 * yStride, accumulate);
        if (c > 3) Int8Tile.Store(acc3, y + 3 * yStride, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Block(byte* packed, byte* q)
    {
        Vector256<sbyte> y0 = Int8Tile.Broadcast4x8(q), y1 = Int8Tile.Broadcast4x8(q + 4);
        Vector256<sbyte> y2 = Int8Tile.Broadcast4x8(q + 8), y3 = Int8Tile.Broadcast4x8(q + 12);
        var hi = (Int8Dot.MulAdd(Vector256.Load(packed), y0) + Int8Dot.MulAdd(Vector256.Load(packed + 32), y1))
            + (Int8Dot.MulAdd(Vector256.Load(packed + 64), y2) + Int8Dot.MulAdd(Vector256.Load(packed + 96), y3));
        var lo = (Int8Dot.MulAdd(Vector256.Load(packed + 256), y0) + Int8Dot.MulAdd(Vector256.Load(packed + 288), y1))
            + (Int8Dot.MulAdd(Vector256.Load(packed + 320), y2) + Int8Dot.MulAdd(Vector256.Load(packed + 352), y3));
        Vector256<sbyte> y4 = Int8Tile.Broadcast4x8(q + 16), y5 = Int8Tile.Broadcast4x8(q + 20);
        Vector256<sbyte> y6 = Int8Tile.Broadcast4x8(q + 24), y7 = Int8Tile.Broadcast4x8(q + 28);
        hi += (Int8Dot.MulAdd(Vector256.Load(packed + 128), y4) + Int8Dot.MulAdd(Vector256.Load(packed + 160), y5))
            + (Int8Dot.MulAdd(Vector256.Load(packed + 192), y6) + Int8Dot.MulAdd(Vector256.Load(packed + 224), y7));
        lo += (Int8Dot.MulAdd(Vector256.Load(packed + 384), y4) + Int8Dot.MulAdd(Vector256.Load(packed + 416), y5))
            + (Int8Dot.MulAdd(Vector256.Load(packed + 448), y6) + Int8Dot.MulAdd(Vector256.Load(packed + 480), y7));
        return Avx2.MultiplyAddAdjacent(hi, Vector256.Create((short)16)) + Int8Dot.SumPairs(lo);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Scale(Vector256<int> sum, Vector256<float> dx, float* dy, int* correction, Vector256<float> acc) =>
        Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sum - Vector256.Create(*correction)) * dx, Vector256.Create(*dy), acc);
}
