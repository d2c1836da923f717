using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q6_KFormat
{
    /// <summary><see cref="DotQ8"/> of <paramref name="rows"/> weight rows with <paramref name="tokens"/> activation rows:
    /// <c>y[t·yStride + r] = DotQ8(w + r·wRowBytes, a + t·aRowBytes, n)</c> up to float rounding. Groups of 16 rows (8 with
    /// AVX2) are decoded once per 64 tokens into an L1 panel, multiplied by register tiles of 8 tokens (2).</summary>
    public static void DotQ8Tile(byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n, float* y, long yStride)
    {
        Int8Tile.Validate(GgmlType.Q6_K, 256, 210, new(256, 292), wRowBytes, rows, aRowBytes, tokens, n, yStride);
        Fp16.EnsureTable();
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) Int8TileDriver<Q6_KTile512>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
        else if (bits >= 256 && SimdTier.Has256) Int8TileDriver<Q6_KTile256>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
        else Int8Tile.RowDots(w, wRowBytes, 0, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
    }
}

/// <summary>Q6_K × Q8_K on 16 rows: the unsigned 6-bit q of 16 rows (four bytes a row per step), four steps per
/// sub-block of 16; two steps sum in int16 (at most 2·16128) before a vpmaddwd by the rows' signed scales. The −32
/// offset comes from the bsums: <c>32·Σ scale·bsum</c> in eight more vpmaddwd per token and block (ggml's AVX path does
/// the same). Per block: <c>dy·d·(Σ scale·Σ q·y − 32·Σ scale·bsum)</c>. Register tile: 8 tokens.</summary>
internal unsafe struct Q6_KTile512 : IInt8TileBody
{
    public static int GroupRows => 16;
    public static int MaxTokens => 8;
    public static int BlockElements => 256;
    public static int WeightBlockBytes => 210;
    public static int ActivationBlockBytes => 292;
    public static int ChunkBlocks => 4;
    public static int TermInts => 0;

    // Panel of one block: 64 steps (sub-block j, step k at 64·(4j + k)), 16 scale vectors, 8 scale-pair vectors, d.
    private const int Scales = 64 * 64, Pairs = Scales + 16 * 64, D = Pairs + 8 * 64;
    public static int PackedBlockBytes => D + 64;

    public static void PrepareActivations(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* terms) =>
        Int8Tile.PrepareQ8_KScales(a, aRowBytes, tokens, blocks, scales);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long s, int blocks, byte* packed)
    {
        var offsets = Int8Tile.RowOffsets16(s);
        var low = Vector512.Create((byte)0x0F);
        var three = Vector512.Create((byte)0x03);
        for (int b = 0; b < blocks; b++, w += 210, packed += PackedBlockBytes)
        {
            for (int h = 0; h < 2; h++) // elements 128h + 32r + i: ql[64h + 32(r & 1) + i] nibble r >> 1, qh[32h + i] bits 2r
            {
                for (int half = 0; half < 2; half++) // ql bytes 64h + 32·half + 0…31, i.e. r = half and r = half + 2
                {
                    Int8Tile.Transpose16(w + 64 * h + 32 * half, s, out var l0, out var l1, out var l2, out var l3);
                    Int8Tile.Transpose16(w + 64 * h + 32 * half + 16, s, out var l4, out var l5, out var l6, out var l7);
                    Int8Tile.Transpose16(w + 128 + 32 * h, s, out var h0, out var h1, out var h2, out var h3);
                    Int8Tile.Transpose16(w + 128 + 32 * h + 16, s, out var h4, out var h5, out var h6, out var h7);
                    for (int r = half; r < 4; r += 2)
                    {
                        // Sub-block 8h + 2r holds i = 0…15 (steps from l0…l3), 8h + 2r + 1 holds i = 16…31 (l4…l7).
                        byte* p = packed + 64 * 4 * (8 * h + 2 * r);
                        int nibble = 4 * (r >> 1), high = 2 * r;
                        Six(l0, h0, nibble, high, low, three).Store(p);
                        Six(l1, h1, nibble, high, low, three).Store(p + 64);
                        Six(l2, h2, nibble, high, low, three).Store(p + 128);
                        Six(l3, h3, nibble, high, low, three).Store(p + 192);
                        Six(l4, h4, nibble, high, low, three).Store(p + 256);
                        Six(l5, h5, nibble, high, low, three).Store(p + 320);
                        Six(l6, h6, nibble, high, low, three).Store(p + 384);
                        Six(l7, h7, nibble, high, low, three).Store(p + 448);
                    }
                }
            }
            Int8Tile.Transpose16(w + 192, s, out var s0, out var s1, out var s2, out var s3);
            StoreScales(s0, packed, 0); StoreScales(s1, packed, 1); StoreScales(s2, packed, 2); StoreScales(s3, packed, 3);
            Int8Tile.GatherFp16High(w + 206, offsets).Store((float*)(packed + D));
        }
    }

    /// <summary>q = (ql nibble) | (qh two bits) &lt;&lt; 4, byte-wise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Six(Vector512<byte> ql, Vector512<byte> qh, int nibble, int high, Vector512<byte> low, Vector512<byte> three) =>
        ((ql.AsUInt16() >>> nibble).AsByte() & low) | (((qh.AsUInt16() >>> high).AsByte() & three).AsUInt16() << 4).AsByte();

    /// <summary>Scales 4m…4m+3 (word m of each row): each alone for its sub-block, and as the two pairs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreScales(Vector512<byte> words, byte* packed, int m)
    {
        for (int i = 0; i < 4; i++) Int8Tile.SignedBytePairs(words, i, i).Store((short*)(packed + Scales + 64 * (4 * m + i)));
        Int8Tile.SignedBytePairs(words, 0, 1).Store((short*)(packed + Pairs + 64 * (2 * m)));
        Int8Tile.SignedBytePairs(words, 2, 3).Store((short*)(packed + Pairs + 64 * (2 * m + 1)));
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
        for (int b = 0; b < blocks; b++, packed += PackedBlockBytes, scales += termStride)
        {
            byte* q = a + b * 292 + 4, q4 = a4 + b * 292 + 4;
            // Start from −32·Σ scale·bsum (the bsums follow the 256 quants).
            Vector512<int> sum0 = Offset(packed, q + 256), sum1 = default, sum2 = default, sum3 = default;
            Vector512<int> sum4 = default, sum5 = default, sum6 = default, sum7 = default;
            if (c > 1) sum1 = Offset(packed, q + s + 256);
            if (c > 2) sum2 = Offset(packed, q + 2 * s + 256);
            if (c > 3) sum3 = Offset(packed, q + s3 + 256);
            if (c > 4) sum4 = Offset(packed, q4 + 256);
            if (c > 5) sum5 = Offset(packed, q4 + s + 256);
            if (c > 6) sum6 = Offset(packed, q4 + 2 * s + 256);
            if (c > 7) sum7 = Offset(packed, q4 + s3 + 256);
            for (int j = 0; j < 16; j++, q += 16, q4 += 16)
            {
                byte* p = packed + 256 * j;
                var w0 = Vector512.Load(p); var w1 = Vector512.Load(p + 64);
                var w2 = Vector512.Load(p + 128); var w3 = Vector512.Load(p + 192);
                var sc = Vector512.Load((short*)(packed + Scales + 64 * j));
                sum0 += SubBlock(w0, w1, w2, w3, sc, q);
                if (c > 1) sum1 += SubBlock(w0, w1, w2, w3, sc, q + s);
                if (c > 2) sum2 += SubBlock(w0, w1, w2, w3, sc, q + 2 * s);
                if (c > 3) sum3 += SubBlock(w0, w1, w2, w3, sc, q + s3);
                if (c > 4) sum4 += SubBlock(w0, w1, w2, w3, sc, q4);
                if (c > 5) sum5 += SubBlock(w0, w1, w2, w3, sc, q4 + s);
                if (c > 6) sum6 += SubBlock(w0, w1, w2, w3, sc, q4 + 2 * s);
                if (c > 7) sum7 += SubBlock(w0, w1, w2, w3, sc, q4 + s3);
            }
            var d = Vector512.Load((float*)(packed + D));
            acc0 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum0) * d, Vector512.Create(scales[0]), acc0);
            if (c > 1) acc1 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum1) * d, Vector512.Create(scales[1]), acc1);
            if (c > 2) acc2 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum2) * d, Vector512.Create(scales[2]), acc2);
            if (c > 3) acc3 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum3) * d, Vector512.Create(scales[3]), acc3);
            if (c > 4) acc4 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum4) * d, Vector512.Create(scales[4]), acc4);
            if (c > 5) acc5 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum5) * d, Vector512.Create(scales[5]), acc5);
            if (c > 6) acc6 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum6) * d, Vector512.Create(scales[6]), acc6);
            if (c > 7) acc7 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum7) * d, Vector512.Create(scales[7]), acc7);
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

    /// <summary>scale · Σ q·y over one sub-block of 16 for one token.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> SubBlock(Vector512<byte> w0, Vector512<byte> w1, Vector512<byte> w2, Vector512<byte> w3,
        Vector512<short> scale, byte* q)
    {
        var p01 = Int8Dot.MulAdd(w0, Int8Tile.Broadcast4x16(q)) + Int8Dot.MulAdd(w1, Int8Tile.Broadcast4x16(q + 4));
        var p23 = Int8Dot.MulAdd(w2, Int8Tile.Broadcast4x16(q + 8)) + Int8Dot.MulAdd(w3, Int8Tile.Broadcast4x16(q + 12));
        return Avx512BW.MultiplyAddAdjacent(p01, scale) + Avx512BW.MultiplyAddAdjacent(p23, scale);
    }

    /// <summary>−32·Σ scale·bsum for one token's block: the pairs of scales times the pairs of bsums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Offset(byte* packed, byte* bsums)
    {
        var sum = Vector512<int>.Zero;
        for (int k = 0; k < 8; k++)
            sum += Avx512BW.MultiplyAddAdjacent(Vector512.Load((short*)(packed + Pairs + 64 * k)), Vector512.Create(*(int*)(bsums + 4 * k)).AsInt16());
        return -(sum << 5);
    }
}

/// <summary><see cref="Q6_KTile512"/> with 256-bit vectors: 8 rows, register tile of 2 tokens.</summary>
internal unsafe struct Q6_KTile256 : IInt8TileBody
{
    public static int GroupRows => 8;
    public static int MaxTokens => 2;
    public static int BlockElements => 256;
    public static int WeightBlockBytes => 210;
    public static int ActivationBlockBytes => 292;
    public static int ChunkBlocks => 4;
    public static int TermInts => 0;

    private const int Scales = 64 * 32, Pairs = Scales + 16 * 32, D = Pairs + 8 * 32;
    public static int PackedBlockBytes => D + 32;

    public static void PrepareActivations(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* terms) =>
        Int8Tile.PrepareQ8_KScales(a, aRowBytes, tokens, blocks, scales);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long s, int blocks, byte* packed)
    {
        var offsets = Int8Tile.RowOffsets8(s);
        var low = Vector256.Create((byte)0x0F);
        var three = Vector256.Create((byte)0x03);
        for (int b = 0; b < blocks; b++, w += 210, packed += PackedBlockBytes)
        {
            for (int h = 0; h < 2; h++)
            {
                for (int half = 0; half < 2; half++)
                {
                    Int8Tile.Transpose8(w + 64 * h + 32 * half, s, out var l0, out var l1, out var l2, out var l3);
                    Int8Tile.Transpose8(w + 64 * h + 32 * half + 16, s, out var l4, out var l5, out var l6, out var l7);
                    Int8Tile.Transpose8(w + 128 + 32 * h, s, out var h0, out var h1, out var h2, out var h3);
                    Int8Tile.Transpose8(w + 128 + 32 * h + 16, s, out var h4, out var h5, out var h6, out var h7);
                    for (int r = half; r < 4; r += 2)
                    {
                        byte* p = packed + 32 * 4 * (8 * h + 2 * r);
                        int nibble = 4 * (r >> 1), high = 2 * r;
                        Six(l0, h0, nibble, high, low, three).Store(p);
                        Six(l1, h1, nibble, high, low, three).Store(p + 32);
                        Six(l2, h2, nibble, high, low, three).Store(p + 64);
                        Six(l3, h3, nibble, high, low, three).Store(p + 96);
                        Six(l4, h4, nibble, high, low, three).Store(p + 128);
                        Six(l5, h5, nibble, high, low, three).Store(p + 160);
                        Six(l6, h6, nibble, high, low, three).Store(p + 192);
                        Six(l7, h7, nibble, high, low, three).Store(p + 224);
                    }
                }
            }
            Int8Tile.Transpose8(w + 192, s, out var s0, out var s1, out var s2, out var s3);
            StoreScales(s0, packed, 0); StoreScales(s1, packed, 1); StoreScales(s2, packed, 2); StoreScales(s3, packed, 3);
            Int8Tile.GatherFp16High(w + 206, offsets).Store((float*)(packed + D));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Six(Vector256<byte> ql, Vector256<byte> qh, int nibble, int high, Vector256<byte> low, Vector256<byte> three) =>
        ((ql.AsUInt16() >>> nibble).AsByte() & low) | (((qh.AsUInt16() >>> high).AsByte() & three).AsUInt16() << 4).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreScales(Vector256<byte> words, byte* packed, int m)
    {
        for (int i = 0; i < 4; i++) Int8Tile.SignedBytePairs(words, i, i).Store((short*)(packed + Scales + 32 * (4 * m + i)));
        Int8Tile.SignedBytePairs(words, 0, 1).Store((short*)(packed + Pairs + 32 * (2 * m)));
        Int8Tile.SignedBytePairs(words, 2, 3).Store((short*)(packed + Pairs + 32 * (2 * m + 1)));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Micro<TN>(byte* packed, int blocks, byte* a, long aRowBytes, float* scales, int* terms,
        int termStride, float* y, long yStride, bool accumulate) where TN : struct, ITileTokens
    {
        int c = TN.Count;
        Vector256<float> acc0 = default, acc1 = default;
        for (int b = 0; b < blocks; b++, packed += PackedBlockBytes, scales += termStride)
        {
            byte* q = a + b * 292 + 4;
            Vector256<int> sum0 = Offset(packed, q + 256), sum1 = default;
            if (c > 1) sum1 = Offset(packed, q + aRowBytes + 256);
            for (int j = 0; j < 16; j++, q += 16)
            {
                byte* p = packed + 128 * j;
                var w0 = Vector256.Load(p); var w1 = Vector256.Load(p + 32);
                var w2 = Vector256.Load(p + 64); var w3 = Vector256.Load(p + 96);
                var sc = Vector256.Load((short*)(packed + Scales + 32 * j));
                sum0 += SubBlock(w0, w1, w2, w3, sc, q);
                if (c > 1) sum1 += SubBlock(w0, w1, w2, w3, sc, q + aRowBytes);
            }
            var d = Vector256.Load((float*)(packed + D));
            acc0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sum0) * d, Vector256.Create(scales[0]), acc0);
            if (c > 1) acc1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sum1) * d, Vector256.Create(scales[1]), acc1);
        }
        Int8Tile.Store(acc0, y, accumulate);
        if (c > 1) Int8Tile.Store(acc1, y + yStride, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SubBlock(Vector256<byte> w0, Vector256<byte> w1, Vector256<byte> w2, Vector256<byte> w3,
        Vector256<short> scale, byte* q)
    {
        var p01 = Int8Dot.MulAdd(w0, Int8Tile.Broadcast4x8(q)) + Int8Dot.MulAdd(w1, Int8Tile.Broadcast4x8(q + 4));
        var p23 = Int8Dot.MulAdd(w2, Int8Tile.Broadcast4x8(q + 8)) + Int8Dot.MulAdd(w3, Int8Tile.Broadcast4x8(q + 12));
        return Avx2.MultiplyAddAdjacent(p01, scale) + Avx2.MultiplyAddAdjacent(p23, scale);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Offset(byte* packed, byte* bsums)
    {
        var sum = Vector256<int>.Zero;
        for (int k = 0; k < 8; k++)
            sum += Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(packed + Pairs + 32 * k)), Vector256.Create(*(int*)(bsums + 4 * k)).AsInt16());
        return -(sum << 5);
    }
}
