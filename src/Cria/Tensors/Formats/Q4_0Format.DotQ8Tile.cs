using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q4_0Format
{
    /// <summary><see cref="DotQ8"/> of <paramref name="rows"/> weight rows with <paramref name="tokens"/> activation rows:
    /// <c>y[t·yStride + r] = DotQ8(w + r·wRowBytes, a + t·aRowBytes, n)</c> up to float rounding. Groups of 16 rows (8 with
    /// AVX2) are decoded once per 64 tokens into an L1 panel, multiplied by register tiles of 8 tokens (4).</summary>
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

/// <summary>Q4_0 × Q8_0 on 16 rows: per block, the unsigned nibbles of 16 rows in eight vectors (four bytes a row
/// each), times each token's four quant bytes broadcast; Σ(q − 8)·y = Σ q·y − 8·Σy, with 8·Σy once per token block.
/// The eight products sum in int16 (each at most 8·3840 in magnitude), pairs to int32, then dx·dy scales them.
/// Register tile: 8 tokens (8 weight + 8 accumulator vectors).</summary>
internal unsafe struct Q4_0Tile512 : IInt8TileBody
{
    public static int GroupRows => 16;
    public static int MaxTokens => 8;
    public static int BlockElements => 32;
    public static int WeightBlockBytes => 18;
    public static int ActivationBlockBytes => 34;
    public static int ChunkBlocks => 32;
    public static int PackedBlockBytes => 9 * 64; // eight steps of 16 rows × 4 bytes, then 16 float scales

    public static int TermInts => 1;

    public static void PrepareActivations(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* corrections) =>
        Int8Tile.PrepareQ8_0(a, aRowBytes, tokens, blocks, scales, corrections, 8);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long s, int blocks, byte* packed)
    {
        var offsets = Int8Tile.RowOffsets16(s);
        var low = Vector512.Create((byte)0x0F);
        for (int b = 0; b < blocks; b++, w += 18, packed += 9 * 64)
        {
            Int8Tile.Transpose16(w + 2, s, out var d0, out var d1, out var d2, out var d3);
            // Word k's low nibbles are elements 4k…4k+3, its high nibbles elements 16 + 4k…
            (d0 & low).Store(packed);
            (d1 & low).Store(packed + 64);
            (d2 & low).Store(packed + 128);
            (d3 & low).Store(packed + 192);
            ((d0.AsUInt16() >>> 4).AsByte() & low).Store(packed + 256);
            ((d1.AsUInt16() >>> 4).AsByte() & low).Store(packed + 320);
            ((d2.AsUInt16() >>> 4).AsByte() & low).Store(packed + 384);
            ((d3.AsUInt16() >>> 4).AsByte() & low).Store(packed + 448);
            Int8Tile.GatherFp16(w, offsets).Store((float*)(packed + 512));
        }
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
        for (int b = 0; b < blocks; b++, packed += 9 * 64, scales += termStride, corrections += termStride)
        {
            var w0 = Vector512.Load(packed); var w1 = Vector512.Load(packed + 64);
            var w2 = Vector512.Load(packed + 128); var w3 = Vector512.Load(packed + 192);
            var w4 = Vector512.Load(packed + 256); var w5 = Vector512.Load(packed + 320);
            var w6 = Vector512.Load(packed + 384); var w7 = Vector512.Load(packed + 448);
            var dx = Vector512.Load((float*)(packed + 512));
            byte* q = a + b * 34 + 2, q4 = a4 + b * 34 + 2;
            acc0 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q, scales, corrections, acc0);
            if (c > 1) acc1 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q + s, scales + 1, corrections + 1, acc1);
            if (c > 2) acc2 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q + 2 * s, scales + 2, corrections + 2, acc2);
            if (c > 3) acc3 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q + s3, scales + 3, corrections + 3, acc3);
            if (c > 4) acc4 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q4, scales + 4, corrections + 4, acc4);
            if (c > 5) acc5 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q4 + s, scales + 5, corrections + 5, acc5);
            if (c > 6) acc6 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q4 + 2 * s, scales + 6, corrections + 6, acc6);
            if (c > 7) acc7 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q4 + s3, scales + 7, corrections + 7, acc7);
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

/// <summary><see cref="Q4_0Tile512"/> with 256-bit vectors: 8 rows, register tile of 4 tokens (16 registers).</summary>
internal unsafe struct Q4_0Tile256 : IInt8TileBody
{
    public static int GroupRows => 8;
    public static int MaxTokens => 4;
    public static int BlockElements => 32;
    public static int WeightBlockBytes => 18;
    public static int ActivationBlockBytes => 34;
    public static int ChunkBlocks => 32;
    public static int PackedBlockBytes => 9 * 32;

    public static int TermInts => 1;

    public static void PrepareActivations(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* corrections) =>
        Int8Tile.PrepareQ8_0(a, aRowBytes, tokens, blocks, scales, corrections, 8);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long s, int blocks, byte* packed)
    {
        var offsets = Int8Tile.RowOffsets8(s);
        var low = Vector256.Create((byte)0x0F);
        for (int b = 0; b < blocks; b++, w += 18, packed += 9 * 32)
        {
            Int8Tile.Transpose8(w + 2, s, out var d0, out var d1, out var d2, out var d3);
            (d0 & low).Store(packed);
            (d1 & low).Store(packed + 32);
            (d2 & low).Store(packed + 64);
            (d3 & low).Store(packed + 96);
            ((d0.AsUInt16() >>> 4).AsByte() & low).Store(packed + 128);
            ((d1.AsUInt16() >>> 4).AsByte() & low).Store(packed + 160);
            ((d2.AsUInt16() >>> 4).AsByte() & low).Store(packed + 192);
            ((d3.AsUInt16() >>> 4).AsByte() & low).Store(packed + 224);
            Int8Tile.GatherFp16(w, offsets).Store((float*)(packed + 256));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Micro<TN>(byte* packed, int blocks, byte* a, long aRowBytes, float* scales, int* corrections,
        int termStride, float* y, long yStride, bool accumulate) where TN : struct, ITileTokens
    {
        int c = TN.Count;
        long s = aRowBytes, s3 = 3 * aRowBytes;
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int b = 0; b < blocks; b++, packed += 9 * 32, scales += termStride, corrections += termStride)
        {
            var w0 = Vector256.Load(packed); var w1 = Vector256.Load(packed + 32);
            var w2 = Vector256.Load(packed + 64); var w3 = Vector256.Load(packed + 96);
            var w4 = Vector256.Load(packed + 128); var w5 = Vector256.Load(packed + 160);
            var w6 = Vector256.Load(packed + 192); var w7 = Vector256.Load(packed + 224);
            var dx = Vector256.Load((float*)(packed + 256));
            byte* q = a + b * 34 + 2;
            acc0 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q, scales, corrections, acc0);
            if (c > 1) acc1 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q + s, scales + 1, corrections + 1, acc1);
            if (c > 2) acc2 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q + 2 * s, scales + 2, corrections + 2, acc2);
            if (c > 3) acc3 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, q + s3, scales + 3, corrections + 3, acc3);
        }
        Int8Tile.Store(acc0, y, accumulate);
        if (c > 1) Int8Tile.Store(acc1, y + yStride, accumulate);
        if (c > 2) Int8Tile.Store(acc2, y + 2 * yStride, accumulate);
        if (c > 3) Int8Tile.Store(acc3, y + 3 * yStride, accumulate);
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
