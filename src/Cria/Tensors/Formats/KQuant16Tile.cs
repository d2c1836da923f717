using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

/// <summary>A K-quant with sub-blocks of 16 (Q2_K, Q3_K, Q6_K): how its block decodes into the panel of
/// <see cref="KQuant16Tile512{TL}"/>, and which terms its dot product has.</summary>
internal unsafe interface IKQuant16Layout
{
    static abstract int BlockBytes { get; }

    /// <summary>True where q reaches 63 (Q6_K): two steps per int16 sum instead of four.</summary>
    static abstract bool SplitSums { get; }

    /// <summary>True where the weight is d·scale·q − dmin·min (Q2_K): the minimums meet the bsums, times dmin.</summary>
    static abstract bool HasMin { get; }

    /// <summary>Without a minimum, q is stored with an offset of 2^OffsetShift (Q3_K: 4, Q6_K: 32), which the bsums take
    /// off: −2^OffsetShift·Σ scale·bsum.</summary>
    static abstract int OffsetShift { get; }

    /// <summary>Decodes one block of 16 rows: 64 steps of unsigned q at 64·(4j + k) (sub-block j, elements 4k…4k+3),
    /// the scales at <see cref="KQuant16.Scales512"/>, their pairs (or the minimums' pairs) at
    /// <see cref="KQuant16.Pairs512"/>, d (and dmin) at <see cref="KQuant16.D512"/>.</summary>
    static abstract void PackBlock512(byte* w, long s, Vector512<int> offsets, byte* packed);

    /// <summary><see cref="PackBlock512"/> for 8 rows, at the <c>…256</c> offsets.</summary>
    static abstract void PackBlock256(byte* w, long s, Vector256<int> offsets, byte* packed);
}

/// <summary>Panel offsets and scale helpers of the sub-block-of-16 tiles.</summary>
internal static unsafe class KQuant16
{
    public const int Scales512 = 64 * 64, Pairs512 = Scales512 + 16 * 64, D512 = Pairs512 + 8 * 64, DMin512 = D512 + 64;
    public const int Scales256 = 64 * 32, Pairs256 = Scales256 + 16 * 32, D256 = Pairs256 + 8 * 32, DMin256 = D256 + 32;

    /// <summary>Signed scales 4m…4m+3 (word m of each row): each alone for its sub-block, and as the two pairs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreSignedScales(Vector512<byte> words, byte* packed, int m)
    {
        for (int i = 0; i < 4; i++) Int8Tile.SignedBytePairs(words, i, i).Store((short*)(packed + Scales512 + 64 * (4 * m + i)));
        Int8Tile.SignedBytePairs(words, 0, 1).Store((short*)(packed + Pairs512 + 64 * (2 * m)));
        Int8Tile.SignedBytePairs(words, 2, 3).Store((short*)(packed + Pairs512 + 64 * (2 * m + 1)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreSignedScales(Vector256<byte> words, byte* packed, int m)
    {
        for (int i = 0; i < 4; i++) Int8Tile.SignedBytePairs(words, i, i).Store((short*)(packed + Scales256 + 32 * (4 * m + i)));
        Int8Tile.SignedBytePairs(words, 0, 1).Store((short*)(packed + Pairs256 + 32 * (2 * m)));
        Int8Tile.SignedBytePairs(words, 2, 3).Store((short*)(packed + Pairs256 + 32 * (2 * m + 1)));
    }

    /// <summary>Unsigned bytes 4m…4m+3 (word m of each row) less <paramref name="bias"/>: each alone, and as the two pairs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreScales(Vector512<byte> words, short bias, byte* scales, byte* pairs, int m)
    {
        var b = Vector512.Create(bias);
        if (scales != null)
            for (int i = 0; i < 4; i++) (Int8Tile.BytePairs(words, i, i) - b).Store((short*)(scales + 64 * (4 * m + i)));
        (Int8Tile.BytePairs(words, 0, 1) - b).Store((short*)(pairs + 64 * (2 * m)));
        (Int8Tile.BytePairs(words, 2, 3) - b).Store((short*)(pairs + 64 * (2 * m + 1)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreScales(Vector256<byte> words, short bias, byte* scales, byte* pairs, int m)
    {
        var b = Vector256.Create(bias);
        if (scales != null)
            for (int i = 0; i < 4; i++) (Int8Tile.BytePairs(words, i, i) - b).Store((short*)(scales + 32 * (4 * m + i)));
        (Int8Tile.BytePairs(words, 0, 1) - b).Store((short*)(pairs + 32 * (2 * m)));
        (Int8Tile.BytePairs(words, 2, 3) - b).Store((short*)(pairs + 32 * (2 * m + 1)));
    }
}

/// <summary>Q2_K, Q3_K, Q6_K × Q8_K on 16 rows: per sub-block of 16, four steps of the unsigned q (four bytes a row)
/// times the token's broadcast quants sum in int16, then vpmaddwd by the rows' scales (int16, duplicated in both halves
/// of each row's lane). The pairs of scales (offset) or minimums meet the pairs of bsums in eight more vpmaddwd per token
/// and block. Per block: <c>dy·d·(Σ scale·Σ q·y − 2^shift·Σ scale·bsum)</c>, or with minimums
/// <c>dy·(d·Σ scale·Σ q·y − dmin·Σ min·bsum)</c>. Register tile: 8 tokens.</summary>
internal unsafe struct KQuant16Tile512<TL> : IInt8TileBody where TL : struct, IKQuant16Layout
{
    public static int GroupRows => 16;
    public static int MaxTokens => 8;
    public static int BlockElements => 256;
    public static int WeightBlockBytes => TL.BlockBytes;
    public static int ActivationBlockBytes => 292;
    public static int ChunkBlocks => 4;
    public static int TermInts => 0;
    public static int PackedBlockBytes { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => KQuant16.DMin512 + 64; }

    public static void PrepareActivations(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* terms) =>
        Int8Tile.PrepareQ8_KScales(a, aRowBytes, tokens, blocks, scales);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long s, int blocks, byte* packed)
    {
        var offsets = Int8Tile.RowOffsets16(s);
        for (int b = 0; b < blocks; b++, w += TL.BlockBytes, packed += PackedBlockBytes) TL.PackBlock512(w, s, offsets, packed);
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
            // Without minimums, start from the offset's share (the bsums follow the 256 quants).
            Vector512<int> sum0 = Start(packed, q + 256), sum1 = default, sum2 = default, sum3 = default;
            Vector512<int> sum4 = default, sum5 = default, sum6 = default, sum7 = default;
            if (c > 1) sum1 = Start(packed, q + s + 256);
            if (c > 2) sum2 = Start(packed, q + 2 * s + 256);
            if (c > 3) sum3 = Start(packed, q + s3 + 256);
            if (c > 4) sum4 = Start(packed, q4 + 256);
            if (c > 5) sum5 = Start(packed, q4 + s + 256);
            if (c > 6) sum6 = Start(packed, q4 + 2 * s + 256);
            if (c > 7) sum7 = Start(packed, q4 + s3 + 256);
            for (int j = 0; j < 16; j++, q += 16, q4 += 16)
            {
                byte* p = packed + 256 * j;
                var w0 = Vector512.Load(p); var w1 = Vector512.Load(p + 64);
                var w2 = Vector512.Load(p + 128); var w3 = Vector512.Load(p + 192);
                var sc = Vector512.Load((short*)(packed + KQuant16.Scales512 + 64 * j));
                sum0 += SubBlock(w0, w1, w2, w3, sc, q);
                if (c > 1) sum1 += SubBlock(w0, w1, w2, w3, sc, q + s);
                if (c > 2) sum2 += SubBlock(w0, w1, w2, w3, sc, q + 2 * s);
                if (c > 3) sum3 += SubBlock(w0, w1, w2, w3, sc, q + s3);
                if (c > 4) sum4 += SubBlock(w0, w1, w2, w3, sc, q4);
                if (c > 5) sum5 += SubBlock(w0, w1, w2, w3, sc, q4 + s);
                if (c > 6) sum6 += SubBlock(w0, w1, w2, w3, sc, q4 + 2 * s);
                if (c > 7) sum7 += SubBlock(w0, w1, w2, w3, sc, q4 + s3);
            }
            // q, q4 now point at the bsums.
            acc0 = Finish(sum0, packed, q, scales, acc0);
            if (c > 1) acc1 = Finish(sum1, packed, q + s, scales + 1, acc1);
            if (c > 2) acc2 = Finish(sum2, packed, q + 2 * s, scales + 2, acc2);
            if (c > 3) acc3 = Finish(sum3, packed, q + s3, scales + 3, acc3);
            if (c > 4) acc4 = Finish(sum4, packed, q4, scales + 4, acc4);
            if (c > 5) acc5 = Finish(sum5, packed, q4 + s, scales + 5, acc5);
            if (c > 6) acc6 = Finish(sum6, packed, q4 + 2 * s, scales + 6, acc6);
            if (c > 7) acc7 = Finish(sum7, packed, q4 + s3, scales + 7, acc7);
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
        return TL.SplitSums
            ? Avx512BW.MultiplyAddAdjacent(p01, scale) + Avx512BW.MultiplyAddAdjacent(p23, scale)
            : Avx512BW.MultiplyAddAdjacent(p01 + p23, scale);
    }

    /// <summary>Σ pair·bsum over the 16 sub-blocks: the panel's eight int16 pairs times the token's bsum pairs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> PairSums(byte* packed, byte* bsums)
    {
        var sum = Vector512<int>.Zero;
        for (int k = 0; k < 8; k++)
            sum += Avx512BW.MultiplyAddAdjacent(Vector512.Load((short*)(packed + KQuant16.Pairs512 + 64 * k)), Vector512.Create(*(int*)(bsums + 4 * k)).AsInt16());
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Start(byte* packed, byte* bsums) => TL.HasMin ? default : -(PairSums(packed, bsums) << TL.OffsetShift);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Finish(Vector512<int> sum, byte* packed, byte* bsums, float* dy, Vector512<float> acc)
    {
        var d = Vector512.Load((float*)(packed + KQuant16.D512));
        var block = Vector512.ConvertToSingle(sum) * d;
        if (TL.HasMin)
            block = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum), d,
                -(Vector512.ConvertToSingle(PairSums(packed, bsums)) * Vector512.Load((float*)(packed + KQuant16.DMin512))));
        return Vector512.FusedMultiplyAdd(block, Vector512.Create(*dy), acc);
    }
}

/// <summary><see cref="KQuant16Tile512{TL}"/> with 256-bit vectors: 8 rows, register tile of 2 tokens.</summary>
internal unsafe struct KQuant16Tile256<TL> : IInt8TileBody where TL : struct, IKQuant16Layout
{
    public static int GroupRows => 8;
    public static int MaxTokens => 2;
    public static int BlockElements => 256;
    public static int WeightBlockBytes => TL.BlockBytes;
    public static int ActivationBlockBytes => 292;
    public static int ChunkBlocks => 4;
    public static int TermInts => 0;
    public static int PackedBlockBytes { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => KQuant16.DMin256 + 32; }

    public static void PrepareActivations(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* terms) =>
        Int8Tile.PrepareQ8_KScales(a, aRowBytes, tokens, blocks, scales);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long s, int blocks, byte* packed)
    {
        var offsets = Int8Tile.RowOffsets8(s);
        for (int b = 0; b < blocks; b++, w += TL.BlockBytes, packed += PackedBlockBytes) TL.PackBlock256(w, s, offsets, packed);
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
            Vector256<int> sum0 = Start(packed, q + 256), sum1 = default;
            if (c > 1) sum1 = Start(packed, q + aRowBytes + 256);
            for (int j = 0; j < 16; j++, q += 16)
            {
                byte* p = packed + 128 * j;
                var w0 = Vector256.Load(p); var w1 = Vector256.Load(p + 32);
                var w2 = Vector256.Load(p + 64); var w3 = Vector256.Load(p + 96);
                var sc = Vector256.Load((short*)(packed + KQuant16.Scales256 + 32 * j));
                sum0 += SubBlock(w0, w1, w2, w3, sc, q);
                if (c > 1) sum1 += SubBlock(w0, w1, w2, w3, sc, q + aRowBytes);
            }
            acc0 = Finish(sum0, packed, q, scales, acc0);
            if (c > 1) acc1 = Finish(sum1, packed, q + aRowBytes, scales + 1, acc1);
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
        return TL.SplitSums
            ? Avx2.MultiplyAddAdjacent(p01, scale) + Avx2.MultiplyAddAdjacent(p23, scale)
            : Avx2.MultiplyAddAdjacent(p01 + p23, scale);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> PairSums(byte* packed, byte* bsums)
    {
        var sum = Vector256<int>.Zero;
        for (int k = 0; k < 8; k++)
            sum += Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(packed + KQuant16.Pairs256 + 32 * k)), Vector256.Create(*(int*)(bsums + 4 * k)).AsInt16());
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Start(byte* packed, byte* bsums) => TL.HasMin ? default : -(PairSums(packed, bsums) << TL.OffsetShift);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Finish(Vector256<int> sum, byte* packed, byte* bsums, float* dy, Vector256<float> acc)
    {
        var d = Vector256.Load((float*)(packed + KQuant16.D256));
        var block = Vector256.ConvertToSingle(sum) * d;
        if (TL.HasMin)
            block = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sum), d,
                -(Vector256.ConvertToSingle(PairSums(packed, bsums)) * Vector256.Load((float*)(packed + KQuant16.DMin256))));
        return Vector256.FusedMultiplyAdd(block, Vector256.Create(*dy), acc);
    }
}
