using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

/// <summary>Where Q4_K and Q5_K keep their quants: d, dmin, 12 packed scale bytes, then (Q5_K) qh[32] and qs[128].</summary>
internal interface IKQuant45Layout
{
    static abstract int BlockBytes { get; }
    static abstract int QsOffset { get; }

    /// <summary>Q5_K: bit j of qh[i] is the fifth bit of element i of sub-block j.</summary>
    static abstract bool HasHighBit { get; }
}

internal struct Q4_KLayout : IKQuant45Layout
{
    public static int BlockBytes => 144;
    public static int QsOffset => 16;
    public static bool HasHighBit => false;
}

internal struct Q5_KLayout : IKQuant45Layout
{
    public static int BlockBytes => 176;
    public static int QsOffset => 48;
    public static bool HasHighBit => true;
}

/// <summary>Q4_K and Q5_K × Q8_K on 16 rows: per sub-block of 32, eight steps of the unsigned 4- or 5-bit q (four bytes
/// a row) times the token's broadcast quants sum in int16 (eight 4-bit steps, at most 8·3840; or twice four 5-bit
/// ones, 4·7936), and vpmaddwd by the rows' 6-bit scales (int16,
/// duplicated in both halves of each row's lane) takes them to int32; the minimums meet the pair sums of bsums in four
/// more vpmaddwd. Per block: <c>dy·(d·Σ scale·Σ q·y − dmin·Σ min·bsum)</c>. Register tile: 8 tokens (8 weight vectors
/// per sub-block, 8 integer and 8 float accumulators).</summary>
internal unsafe struct KQuant45Tile512<TL> : IInt8TileBody where TL : struct, IKQuant45Layout
{
    public static int GroupRows => 16;
    public static int MaxTokens => 8;
    public static int BlockElements => 256;
    public static int WeightBlockBytes => TL.BlockBytes;
    public static int ActivationBlockBytes => 292;
    public static int ChunkBlocks => 4;
    public static int TermInts => 4;

    // Panel of one block: 64 steps (sub-block j, step k at 64·(8j + k)), 8 scale vectors, 4 min-pair vectors, d, dmin.
    internal const int Scales = 64 * 64, Mins = Scales + 8 * 64, D = Mins + 4 * 64, DMin = D + 64;
    public static int PackedBlockBytes => DMin + 64;

    public static void PrepareActivations(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* terms) =>
        Q8_KPairSums.Prepare(a, aRowBytes, tokens, blocks, scales, terms);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long s, int blocks, byte* packed)
    {
        var offsets = Int8Tile.RowOffsets16(s);
        var low = Vector512.Create((byte)0x0F);
        for (int b = 0; b < blocks; b++, w += TL.BlockBytes, packed += PackedBlockBytes)
        {
            for (int c = 0; c < 4; c++) // qs[32c…32c+31]: low nibbles are sub-block 2c, high nibbles sub-block 2c + 1
            {
                byte* lo = packed + 64 * 16 * c, hi = lo + 64 * 8;
                Int8Tile.Transpose16(w + TL.QsOffset + 32 * c, s, out var d0, out var d1, out var d2, out var d3);
                (d0 & low).Store(lo); (d1 & low).Store(lo + 64); (d2 & low).Store(lo + 128); (d3 & low).Store(lo + 192);
                ((d0.AsUInt16() >>> 4).AsByte() & low).Store(hi); ((d1.AsUInt16() >>> 4).AsByte() & low).Store(hi + 64);
                ((d2.AsUInt16() >>> 4).AsByte() & low).Store(hi + 128); ((d3.AsUInt16() >>> 4).AsByte() & low).Store(hi + 192);
                Int8Tile.Transpose16(w + TL.QsOffset + 16 + 32 * c, s, out d0, out d1, out d2, out d3);
                (d0 & low).Store(lo + 256); (d1 & low).Store(lo + 320); (d2 & low).Store(lo + 384); (d3 & low).Store(lo + 448);
                ((d0.AsUInt16() >>> 4).AsByte() & low).Store(hi + 256); ((d1.AsUInt16() >>> 4).AsByte() & low).Store(hi + 320);
                ((d2.AsUInt16() >>> 4).AsByte() & low).Store(hi + 384); ((d3.AsUInt16() >>> 4).AsByte() & low).Store(hi + 448);
            }
            if (TL.HasHighBit) // qh[i] bit j: the fifth bit of element i of sub-block j
            {
                Int8Tile.Transpose16(w + 16, s, out var h0, out var h1, out var h2, out var h3);
                Int8Tile.Transpose16(w + 32, s, out var h4, out var h5, out var h6, out var h7);
                for (int j = 0; j < 8; j++)
                {
                    byte* p = packed + 512 * j;
                    OrBit(p, h0, j); OrBit(p + 64, h1, j); OrBit(p + 128, h2, j); OrBit(p + 192, h3, j);
                    OrBit(p + 256, h4, j); OrBit(p + 320, h5, j); OrBit(p + 384, h6, j); OrBit(p + 448, h7, j);
                }
            }
            // The 12 scale bytes as words u0, u1, u2 of each row.
            Int8Tile.Transpose16(w + 4, s, out var u0, out var u1, out var u2, out _);
            StoreScalesMins(u0.AsUInt32(), u1.AsUInt32(), u2.AsUInt32(), packed + Scales);
            Int8Tile.GatherFp16(w, offsets).Store((float*)(packed + D));
            Int8Tile.GatherFp16(w + 2, offsets).Store((float*)(packed + DMin));
        }
    }

    /// <summary>16 rows' 12 scale bytes (words <paramref name="u0"/>…<paramref name="u2"/> of each row's lane), unpacked as
    /// KQuantScales.ScalesMins does, to the panel's 8 scale vectors (int16, duplicated in both halves of a row's lane)
    /// then 4 min-pair vectors at <paramref name="destination"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreScalesMins(Vector512<uint> u0, Vector512<uint> u1, Vector512<uint> u2, byte* destination)
    {
        ScaleMinBytes(u0, u1, u2, out var s0, out var s1, out var m0, out var m1);
        for (int j = 0; j < 8; j++)
            Int8Tile.BytePairs((j < 4 ? s0 : s1).AsByte(), j & 3, j & 3).Store((short*)(destination + 64 * j));
        for (int k = 0; k < 4; k++)
            Int8Tile.BytePairs((k < 2 ? m0 : m1).AsByte(), 2 * k & 3, (2 * k & 3) + 1).Store((short*)(destination + 8 * 64 + 64 * k));
    }

    /// <summary>The 6-bit scales (<paramref name="s0"/>: sub-blocks 0-3, <paramref name="s1"/>: 4-7) and minimums as bytes
    /// of each row's lane, from its 12 scale bytes in words <paramref name="u0"/>…<paramref name="u2"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ScaleMinBytes(Vector512<uint> u0, Vector512<uint> u1, Vector512<uint> u2,
        out Vector512<uint> s0, out Vector512<uint> s1, out Vector512<uint> m0, out Vector512<uint> m1)
    {
        var low6 = Vector512.Create(0x3F3F3F3Fu);
        var low4 = Vector512.Create(0x0F0F0F0Fu);
        var low2 = Vector512.Create(0x03030303u);
        s0 = u0 & low6;
        s1 = (u2 & low4) | (((u0 >>> 6) & low2) << 4);
        m0 = u1 & low6;
        m1 = ((u2 >>> 4) & low4) | (((u1 >>> 6) & low2) << 4);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Micro<TN>(byte* packed, int blocks, byte* a, long aRowBytes, float* scales, int* terms,
        int termStride, float* y, long yStride, bool accumulate) where TN : struct, ITileTokens
    {
        int c = TN.Count;
        long s = aRowBytes, s3 = 3 * aRowBytes;
        byte* a4 = a + 4 * aRowBytes;
        Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        Vector512<float> acc4 = default, acc5 = default, acc6 = default, acc7 = default;
        for (int b = 0; b < blocks; b++, packed += PackedBlockBytes, scales += termStride, terms += 4 * termStride)
        {
            byte* q = a + b * 292 + 4, q4 = a4 + b * 292 + 4;
            Vector512<int> sum0 = default, sum1 = default, sum2 = default, sum3 = default;
            Vector512<int> sum4 = default, sum5 = default, sum6 = default, sum7 = default;
            for (int j = 0; j < 8; j++, q += 32, q4 += 32)
            {
                byte* p = packed + 512 * j;
                var w0 = Vector512.Load(p); var w1 = Vector512.Load(p + 64);
                var w2 = Vector512.Load(p + 128); var w3 = Vector512.Load(p + 192);
                var w4 = Vector512.Load(p + 256); var w5 = Vector512.Load(p + 320);
                var w6 = Vector512.Load(p + 384); var w7 = Vector512.Load(p + 448);
                var sc = Vector512.Load((short*)(packed + Scales + 64 * j));
                sum0 += SubBlock(w0, w1, w2, w3, w4, w5, w6, w7, sc, q);
                if (c > 1) sum1 += SubBlock(w0, w1, w2, w3, w4, w5, w6, w7, sc, q + s);
                if (c > 2) sum2 += SubBlock(w0, w1, w2, w3, w4, w5, w6, w7, sc, q + 2 * s);
                if (c > 3) sum3 += SubBlock(w0, w1, w2, w3, w4, w5, w6, w7, sc, q + s3);
                if (c > 4) sum4 += SubBlock(w0, w1, w2, w3, w4, w5, w6, w7, sc, q4);
                if (c > 5) sum5 += SubBlock(w0, w1, w2, w3, w4, w5, w6, w7, sc, q4 + s);
                if (c > 6) sum6 += SubBlock(w0, w1, w2, w3, w4, w5, w6, w7, sc, q4 + 2 * s);
                if (c > 7) sum7 += SubBlock(w0, w1, w2, w3, w4, w5, w6, w7, sc, q4 + s3);
            }
            var m0 = Vector512.Load((short*)(packed + Mins)); var m1 = Vector512.Load((short*)(packed + Mins + 64));
            var m2 = Vector512.Load((short*)(packed + Mins + 128)); var m3 = Vector512.Load((short*)(packed + Mins + 192));
            var d = Vector512.Load((float*)(packed + D));
            var dmin = Vector512.Load((float*)(packed + DMin));
            acc0 = Finish(sum0, m0, m1, m2, m3, terms, d, dmin, scales, acc0);
            if (c > 1) acc1 = Finish(sum1, m0, m1, m2, m3, terms + 4, d, dmin, scales + 1, acc1);
            if (c > 2) acc2 = Finish(sum2, m0, m1, m2, m3, terms + 8, d, dmin, scales + 2, acc2);
            if (c > 3) acc3 = Finish(sum3, m0, m1, m2, m3, terms + 12, d, dmin, scales + 3, acc3);
            if (c > 4) acc4 = Finish(sum4, m0, m1, m2, m3, terms + 16, d, dmin, scales + 4, acc4);
            if (c > 5) acc5 = Finish(sum5, m0, m1, m2, m3, terms + 20, d, dmin, scales + 5, acc5);
            if (c > 6) acc6 = Finish(sum6, m0, m1, m2, m3, terms + 24, d, dmin, scales + 6, acc6);
            if (c > 7) acc7 = Finish(sum7, m0, m1, m2, m3, terms + 28, d, dmin, scales + 7, acc7);
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

    /// <summary>Bit <paramref name="j"/> of each qh byte as 16, merged into a stored step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OrBit(byte* step, Vector512<byte> qh, int j) => (Vector512.Load(step) | Int8Dot.MoveBit(qh, j, 4)).Store(step);

    /// <summary>scale · Σ q·y over one sub-block of 32 for one token.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<int> SubBlock(Vector512<byte> w0, Vector512<byte> w1, Vector512<byte> w2, Vector512<byte> w3,
        Vector512<byte> w4, Vector512<byte> w5, Vector512<byte> w6, Vector512<byte> w7, Vector512<short> scale, byte* q)
    {
        var first = (Int8Dot.MulAdd(w0, Int8Tile.Broadcast4x16(q)) + Int8Dot.MulAdd(w1, Int8Tile.Broadcast4x16(q + 4)))
            + (Int8Dot.MulAdd(w2, Int8Tile.Broadcast4x16(q + 8)) + Int8Dot.MulAdd(w3, Int8Tile.Broadcast4x16(q + 12)));
        var second = (Int8Dot.MulAdd(w4, Int8Tile.Broadcast4x16(q + 16)) + Int8Dot.MulAdd(w5, Int8Tile.Broadcast4x16(q + 20)))
            + (Int8Dot.MulAdd(w6, Int8Tile.Broadcast4x16(q + 24)) + Int8Dot.MulAdd(w7, Int8Tile.Broadcast4x16(q + 28)));
        return TL.HasHighBit
            ? Avx512BW.MultiplyAddAdjacent(first, scale) + Avx512BW.MultiplyAddAdjacent(second, scale)
            : Avx512BW.MultiplyAddAdjacent(first + second, scale);
    }

    /// <summary>dy·(d·Σ − dmin·Σ min·bsum) for one token's block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Finish(Vector512<int> sum, Vector512<short> m0, Vector512<short> m1, Vector512<short> m2,
        Vector512<short> m3, int* pairs, Vector512<float> d, Vector512<float> dmin, float* dy, Vector512<float> acc)
    {
        var mins = (Avx512BW.MultiplyAddAdjacent(m0, Vector512.Create(pairs[0]).AsInt16()) + Avx512BW.MultiplyAddAdjacent(m1, Vector512.Create(pairs[1]).AsInt16()))
            + (Avx512BW.MultiplyAddAdjacent(m2, Vector512.Create(pairs[2]).AsInt16()) + Avx512BW.MultiplyAddAdjacent(m3, Vector512.Create(pairs[3]).AsInt16()));
        var block = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum), d, -(Vector512.ConvertToSingle(mins) * dmin));
        return Vector512.FusedMultiplyAdd(block, Vector512.Create(*dy), acc);
    }
}

/// <summary><see cref="KQuant45Tile512{TL}"/> with 256-bit vectors: 8 rows, register tile of 2 tokens.</summary>
internal unsafe struct KQuant45Tile256<TL> : IInt8TileBody where TL : struct, IKQuant45Layout
{
    public static int GroupRows => 8;
    public static int MaxTokens => 2;
    public static int BlockElements => 256;
    public static int WeightBlockBytes => TL.BlockBytes;
    public static int ActivationBlockBytes => 292;
    public static int ChunkBlocks => 4;
    public static int TermInts => 4;

    private const int Scales = 64 * 32, Mins = Scales + 8 * 32, D = Mins + 4 * 32, DMin = D + 32;
    public static int PackedBlockBytes => DMin + 32;

    public static void PrepareActivations(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* terms) =>
        Q8_KPairSums.Prepare(a, aRowBytes, tokens, blocks, scales, terms);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long s, int blocks, byte* packed)
    {
        var offsets = Int8Tile.RowOffsets8(s);
        var low = Vector256.Create((byte)0x0F);
        for (int b = 0; b < blocks; b++, w += TL.BlockBytes, packed += PackedBlockBytes)
        {
            for (int c = 0; c < 4; c++)
            {
                byte* lo = packed + 32 * 16 * c, hi = lo + 32 * 8;
                Int8Tile.Transpose8(w + TL.QsOffset + 32 * c, s, out var d0, out var d1, out var d2, out var d3);
                (d0 & low).Store(lo); (d1 & low).Store(lo + 32); (d2 & low).Store(lo + 64); (d3 & low).Store(lo + 96);
                ((d0.AsUInt16() >>> 4).AsByte() & low).Store(hi); ((d1.AsUInt16() >>> 4).AsByte() & low).Store(hi + 32);
                ((d2.AsUInt16() >>> 4).AsByte() & low).Store(hi + 64); ((d3.AsUInt16() >>> 4).AsByte() & low).Store(hi + 96);
                Int8Tile.Transpose8(w + TL.QsOffset + 16 + 32 * c, s, out d0, out d1, out d2, out d3);
                (d0 & low).Store(lo + 128); (d1 & low).Store(lo + 160); (d2 & low).Store(lo + 192); (d3 & low).Store(lo + 224);
                ((d0.AsUInt16() >>> 4).AsByte() & low).Store(hi + 128); ((d1.AsUInt16() >>> 4).AsByte() & low).Store(hi + 160);
                ((d2.AsUInt16() >>> 4).AsByte() & low).Store(hi + 192); ((d3.AsUInt16() >>> 4).AsByte() & low).Store(hi + 224);
            }
            if (TL.HasHighBit)
            {
                Int8Tile.Transpose8(w + 16, s, out var h0, out var h1, out var h2, out var h3);
                Int8Tile.Transpose8(w + 32, s, out var h4, out var h5, out var h6, out var h7);
                for (int j = 0; j < 8; j++)
                {
                    byte* p = packed + 256 * j;
                    OrBit(p, h0, j); OrBit(p + 32, h1, j); OrBit(p + 64, h2, j); OrBit(p + 96, h3, j);
                    OrBit(p + 128, h4, j); OrBit(p + 160, h5, j); OrBit(p + 192, h6, j); OrBit(p + 224, h7, j);
                }
            }
            Int8Tile.Transpose8(w + 4, s, out var u0, out var u1, out var u2, out _);
            var low6 = Vector256.Create(0x3F3F3F3Fu);
            var low4 = Vector256.Create(0x0F0F0F0Fu);
            var low2 = Vector256.Create(0x03030303u);
            var s0 = u0.AsUInt32() & low6;
            var s1 = (u2.AsUInt32() & low4) | (((u0.AsUInt32() >>> 6) & low2) << 4);
            var m0 = u1.AsUInt32() & low6;
            var m1 = ((u2.AsUInt32() >>> 4) & low4) | (((u1.AsUInt32() >>> 6) & low2) << 4);
            for (int j = 0; j < 8; j++)
                Int8Tile.BytePairs((j < 4 ? s0 : s1).AsByte(), j & 3, j & 3).Store((short*)(packed + Scales + 32 * j));
            for (int k = 0; k < 4; k++)
                Int8Tile.BytePairs((k < 2 ? m0 : m1).AsByte(), 2 * k & 3, (2 * k & 3) + 1).Store((short*)(packed + Mins + 32 * k));
            Int8Tile.GatherFp16(w, offsets).Store((float*)(packed + D));
            Int8Tile.GatherFp16(w + 2, offsets).Store((float*)(packed + DMin));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Micro<TN>(byte* packed, int blocks, byte* a, long aRowBytes, float* scales, int* terms,
        int termStride, float* y, long yStride, bool accumulate) where TN : struct, ITileTokens
    {
        int c = TN.Count;
        Vector256<float> acc0 = default, acc1 = default;
        for (int b = 0; b < blocks; b++, packed += PackedBlockBytes, scales += termStride, terms += 4 * termStride)
        {
            byte* q = a + b * 292 + 4;
            Vector256<int> sum0 = default, sum1 = default;
            for (int j = 0; j < 8; j++, q += 32)
            {
                byte* p = packed + 256 * j;
                var w0 = Vector256.Load(p); var w1 = Vector256.Load(p + 32);
                var w2 = Vector256.Load(p + 64); var w3 = Vector256.Load(p + 96);
                var w4 = Vector256.Load(p + 128); var w5 = Vector256.Load(p + 160);
                var w6 = Vector256.Load(p + 192); var w7 = Vector256.Load(p + 224);
                var sc = Vector256.Load((short*)(packed + Scales + 32 * j));
                sum0 += SubBlock(w0, w1, w2, w3, w4, w5, w6, w7, sc, q);
                if (c > 1) sum1 += SubBlock(w0, w1, w2, w3, w4, w5, w6, w7, sc, q + aRowBytes);
            }
            var m0 = Vector256.Load((short*)(packed + Mins)); var m1 = Vector256.Load((short*)(packed + Mins + 32));
            var m2 = Vector256.Load((short*)(packed + Mins + 64)); var m3 = Vector256.Load((short*)(packed + Mins + 96));
            var d = Vector256.Load((float*)(packed + D));
            var dmin = Vector256.Load((float*)(packed + DMin));
            acc0 = Finish(sum0, m0, m1, m2, m3, terms, d, dmin, scales, acc0);
            if (c > 1) acc1 = Finish(sum1, m0, m1, m2, m3, terms + 4, d, dmin, scales + 1, acc1);
        }
        Int8Tile.Store(acc0, y, accumulate);
        if (c > 1) Int8Tile.Store(acc1, y + yStride, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OrBit(byte* step, Vector256<byte> qh, int j) => (Vector256.Load(step) | Int8Dot.MoveBit(qh, j, 4)).Store(step);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SubBlock(Vector256<byte> w0, Vector256<byte> w1, Vector256<byte> w2, Vector256<byte> w3,
        Vector256<byte> w4, Vector256<byte> w5, Vector256<byte> w6, Vector256<byte> w7, Vector256<short> scale, byte* q)
    {
        var first = (Int8Dot.MulAdd(w0, Int8Tile.Broadcast4x8(q)) + Int8Dot.MulAdd(w1, Int8Tile.Broadcast4x8(q + 4)))
            + (Int8Dot.MulAdd(w2, Int8Tile.Broadcast4x8(q + 8)) + Int8Dot.MulAdd(w3, Int8Tile.Broadcast4x8(q + 12)));
        var second = (Int8Dot.MulAdd(w4, Int8Tile.Broadcast4x8(q + 16)) + Int8Dot.MulAdd(w5, Int8Tile.Broadcast4x8(q + 20)))
            + (Int8Dot.MulAdd(w6, Int8Tile.Broadcast4x8(q + 24)) + Int8Dot.MulAdd(w7, Int8Tile.Broadcast4x8(q + 28)));
        return TL.HasHighBit
            ? Avx2.MultiplyAddAdjacent(first, scale) + Avx2.MultiplyAddAdjacent(second, scale)
            : Avx2.MultiplyAddAdjacent(first + second, scale);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Finish(Vector256<int> sum, Vector256<short> m0, Vector256<short> m1, Vector256<short> m2,
        Vector256<short> m3, int* pairs, Vector256<float> d, Vector256<float> dmin, float* dy, Vector256<float> acc)
    {
        var mins = (Avx2.MultiplyAddAdjacent(m0, Vector256.Create(pairs[0]).AsInt16()) + Avx2.MultiplyAddAdjacent(m1, Vector256.Create(pairs[1]).AsInt16()))
            + (Avx2.MultiplyAddAdjacent(m2, Vector256.Create(pairs[2]).AsInt16()) + Avx2.MultiplyAddAdjacent(m3, Vector256.Create(pairs[3]).AsInt16()));
        var block = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sum), d, -(Vector256.ConvertToSingle(mins) * dmin));
        return Vector256.FusedMultiplyAdd(block, Vector256.Create(*dy), acc);
    }
}
