using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

/// <summary><c>DotQ8Tile</c> of the affine blocks of 32 (Q4_0, Q4_1, Q5_0, Q5_1): tier dispatch and argument checks.</summary>
internal static unsafe class AffineTile<T> where T : struct, IAffineBlock32
{
    public static void Run(GgmlType type, byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n,
        float* y, long yStride, delegate*<byte*, byte*, int, float> dot)
    {
        Int8Tile.Validate(type, 32, T.Bytes, new(32, AffineTileLayout<T>.ActivationBytes), w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride);
        Fp16.EnsureTable();
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) Int8TileDriver<AffineTile512<T>>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, dot);
        else if (bits >= 256 && SimdTier.Has256) Int8TileDriver<AffineTile256<T>>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, dot);
        else Int8Tile.RowDots(w, wRowBytes, 0, rows, a, aRowBytes, tokens, n, y, yStride, dot);
    }
}

/// <summary>What the affine tiles share: the activation layout (<c>block_q8_1</c> for the formats with a minimum,
/// <c>block_q8_0</c> otherwise) and the per (block, token) terms.</summary>
internal static unsafe class AffineTileLayout<T> where T : struct, IAffineBlock32
{
    // The JIT does not inline these through the generic interface by itself (a call per block spills the accumulators).
    public static int ActivationBytes { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => T.HasMin ? 36 : 34; }

    /// <summary>Offset of the activation quants in their block.</summary>
    public static int QuantsOffset { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => T.HasMin ? 4 : 2; }

    /// <summary>The fifth bits of Q5_0/Q5_1 (the 4-bit formats have no qh, and their QhOffset is 0).</summary>
    public static bool HasHighBit { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => T.QhOffset != 0; }

    /// <summary>The scale dy; and, with a minimum, the bits of <c>s = fp16(dy·Σqy)</c> that m multiplies; else
    /// −Offset·Σqy, which the unsigned q need taken off (q·y − 8·y for Q4_0, 16 for Q5_0).</summary>
    public static void Prepare(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* terms)
    {
        int offset = (int)-T.Offset;
        for (int t = 0; t < tokens; t++)
        {
            byte* src = a + t * aRowBytes;
            for (int b = 0; b < blocks; b++, src += ActivationBytes)
            {
                int i = b * tokens + t;
                scales[i] = Fp16.LoadScale(src);
                terms[i] = T.HasMin ? BitConverter.SingleToInt32Bits(Fp16.LoadScale(src + 2)) : offset * Int8Tile.Sum32(src + 2);
            }
        }
    }

    /// <summary>ggml <c>bytes_from_bits_32</c> for four elements of each row: bits 4k…4k+3 of each 32-bit lane of
    /// <paramref name="qh"/> as bytes 0 or 16 (a multiply spreads the four bits to bits 0, 8, 16, 24).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<byte> HighBits(Vector512<uint> qh, int k) =>
        ((((qh >>> (4 * k)) & Vector512.Create(0xFu)) * Vector512.Create(0x00204081u) & Vector512.Create(0x01010101u)) << 4).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> HighBits(Vector256<uint> qh, int k) =>
        ((((qh >>> (4 * k)) & Vector256.Create(0xFu)) * Vector256.Create(0x00204081u) & Vector256.Create(0x01010101u)) << 4).AsByte();
}

/// <summary>An affine block of 32 × Q8_0/Q8_1 on 16 rows: per block, the unsigned q of 16 rows in eight vectors (four
/// bytes a row each; the fifth bit of Q5 merged in), times each token's broadcast quants; the int16 sums take eight
/// 4-bit steps (at most 8·3840) or four 5-bit ones (4·7936) before vpmaddwd, then dx·dy scales them and the minimum
/// (Q4_1, Q5_1) adds m·s, or the offset (Q4_0, Q5_0) comes off as 8·Σy or 16·Σy. Register tile: 8 tokens.</summary>
internal unsafe struct AffineTile512<T> : IInt8TileBody where T : struct, IAffineBlock32
{
    public static int GroupRows => 16;
    public static int MaxTokens => 8;
    public static int BlockElements => 32;
    public static int WeightBlockBytes => T.Bytes;
    public static int ActivationBlockBytes => AffineTileLayout<T>.ActivationBytes;
    public static int ChunkBlocks => 32;
    public static int TermInts => 1;

    // Panel of one block: eight steps, then dx, then m (formats with a minimum).
    internal const int Dx = 8 * 64, M = Dx + 64;
    public static int PackedBlockBytes { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => T.HasMin ? M + 64 : M; }

    public static void PrepareActivations(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* terms) =>
        AffineTileLayout<T>.Prepare(a, aRowBytes, tokens, blocks, scales, terms);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long s, int blocks, byte* packed)
    {
        var offsets = Int8Tile.RowOffsets16(s);
        var low = Vector512.Create((byte)0x0F);
        for (int b = 0; b < blocks; b++, w += T.Bytes, packed += PackedBlockBytes)
        {
            Int8Tile.Transpose16(w + T.QsOffset, s, out var d0, out var d1, out var d2, out var d3);
            // Word k's low nibbles are elements 4k…4k+3, its high nibbles elements 16 + 4k…
            var w0 = d0 & low; var w1 = d1 & low; var w2 = d2 & low; var w3 = d3 & low;
            var w4 = (d0.AsUInt16() >>> 4).AsByte() & low; var w5 = (d1.AsUInt16() >>> 4).AsByte() & low;
            var w6 = (d2.AsUInt16() >>> 4).AsByte() & low; var w7 = (d3.AsUInt16() >>> 4).AsByte() & low;
            if (AffineTileLayout<T>.HasHighBit)
            {
                var qh = Int8Tile.Gather32(w + T.QhOffset, offsets).AsUInt32();
                w0 |= AffineTileLayout<T>.HighBits(qh, 0); w1 |= AffineTileLayout<T>.HighBits(qh, 1);
                w2 |= AffineTileLayout<T>.HighBits(qh, 2); w3 |= AffineTileLayout<T>.HighBits(qh, 3);
                w4 |= AffineTileLayout<T>.HighBits(qh, 4); w5 |= AffineTileLayout<T>.HighBits(qh, 5);
                w6 |= AffineTileLayout<T>.HighBits(qh, 6); w7 |= AffineTileLayout<T>.HighBits(qh, 7);
            }
            w0.Store(packed); w1.Store(packed + 64); w2.Store(packed + 128); w3.Store(packed + 192);
            w4.Store(packed + 256); w5.Store(packed + 320); w6.Store(packed + 384); w7.Store(packed + 448);
            Int8Tile.GatherFp16(w, offsets).Store((float*)(packed + Dx));
            if (T.HasMin) Int8Tile.GatherFp16(w + 2, offsets).Store((float*)(packed + M));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Micro<TN>(byte* packed, int blocks, byte* a, long aRowBytes, float* scales, int* terms,
        int termStride, float* y, long yStride, bool accumulate) where TN : struct, ITileTokens
    {
        int c = TN.Count;
        long s = aRowBytes, s3 = 3 * aRowBytes;
        int ab = AffineTileLayout<T>.ActivationBytes;
        byte* a0 = a + AffineTileLayout<T>.QuantsOffset, a4 = a0 + 4 * aRowBytes;
        Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        Vector512<float> acc4 = default, acc5 = default, acc6 = default, acc7 = default;
        for (int b = 0; b < blocks; b++, packed += PackedBlockBytes, scales += termStride, terms += termStride)
        {
            var w0 = Vector512.Load(packed); var w1 = Vector512.Load(packed + 64);
            var w2 = Vector512.Load(packed + 128); var w3 = Vector512.Load(packed + 192);
            var w4 = Vector512.Load(packed + 256); var w5 = Vector512.Load(packed + 320);
            var w6 = Vector512.Load(packed + 384); var w7 = Vector512.Load(packed + 448);
            var dx = Vector512.Load((float*)(packed + Dx));
            var m = T.HasMin ? Vector512.Load((float*)(packed + M)) : default;
            byte* q = a0 + b * ab, q4 = a4 + b * ab;
            acc0 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, m, q, scales, terms, acc0);
            if (c > 1) acc1 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, m, q + s, scales + 1, terms + 1, acc1);
            if (c > 2) acc2 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, m, q + 2 * s, scales + 2, terms + 2, acc2);
            if (c > 3) acc3 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, m, q + s3, scales + 3, terms + 3, acc3);
            if (c > 4) acc4 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, m, q4, scales + 4, terms + 4, acc4);
            if (c > 5) acc5 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, m, q4 + s, scales + 5, terms + 5, acc5);
            if (c > 6) acc6 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, m, q4 + 2 * s, scales + 6, terms + 6, acc6);
            if (c > 7) acc7 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, m, q4 + s3, scales + 7, terms + 7, acc7);
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

    /// <summary>One token's block against the 16 rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Token(Vector512<byte> w0, Vector512<byte> w1, Vector512<byte> w2, Vector512<byte> w3,
        Vector512<byte> w4, Vector512<byte> w5, Vector512<byte> w6, Vector512<byte> w7, Vector512<float> dx, Vector512<float> m,
        byte* q, float* dy, int* term, Vector512<float> acc)
    {
        var first = (Int8Dot.MulAdd(w0, Int8Tile.Broadcast4x16(q)) + Int8Dot.MulAdd(w1, Int8Tile.Broadcast4x16(q + 4)))
            + (Int8Dot.MulAdd(w2, Int8Tile.Broadcast4x16(q + 8)) + Int8Dot.MulAdd(w3, Int8Tile.Broadcast4x16(q + 12)));
        var second = (Int8Dot.MulAdd(w4, Int8Tile.Broadcast4x16(q + 16)) + Int8Dot.MulAdd(w5, Int8Tile.Broadcast4x16(q + 20)))
            + (Int8Dot.MulAdd(w6, Int8Tile.Broadcast4x16(q + 24)) + Int8Dot.MulAdd(w7, Int8Tile.Broadcast4x16(q + 28)));
        var sum = AffineTileLayout<T>.HasHighBit ? Int8Dot.SumPairs(first) + Int8Dot.SumPairs(second) : Int8Dot.SumPairs(first + second);
        if (T.HasMin)
            return Vector512.FusedMultiplyAdd(m, Vector512.Create(*(float*)term),
                Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum) * dx, Vector512.Create(*dy), acc));
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum - Vector512.Create(*term)) * dx, Vector512.Create(*dy), acc);
    }
}

/// <summary><see cref="AffineTile512{T}"/> with 256-bit vectors: 8 rows, register tile of 4 tokens.</summary>
internal unsafe struct AffineTile256<T> : IInt8TileBody where T : struct, IAffineBlock32
{
    public static int GroupRows => 8;
    public static int MaxTokens => 4;
    public static int BlockElements => 32;
    public static int WeightBlockBytes => T.Bytes;
    public static int ActivationBlockBytes => AffineTileLayout<T>.ActivationBytes;
    public static int ChunkBlocks => 32;
    public static int TermInts => 1;

    private const int Dx = 8 * 32, M = Dx + 32;
    public static int PackedBlockBytes { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => T.HasMin ? M + 32 : M; }

    public static void PrepareActivations(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* terms) =>
        AffineTileLayout<T>.Prepare(a, aRowBytes, tokens, blocks, scales, terms);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long s, int blocks, byte* packed)
    {
        var offsets = Int8Tile.RowOffsets8(s);
        var low = Vector256.Create((byte)0x0F);
        for (int b = 0; b < blocks; b++, w += T.Bytes, packed += PackedBlockBytes)
        {
            Int8Tile.Transpose8(w + T.QsOffset, s, out var d0, out var d1, out var d2, out var d3);
            var w0 = d0 & low; var w1 = d1 & low; var w2 = d2 & low; var w3 = d3 & low;
            var w4 = (d0.AsUInt16() >>> 4).AsByte() & low; var w5 = (d1.AsUInt16() >>> 4).AsByte() & low;
            var w6 = (d2.AsUInt16() >>> 4).AsByte() & low; var w7 = (d3.AsUInt16() >>> 4).AsByte() & low;
            if (AffineTileLayout<T>.HasHighBit)
            {
                var qh = Int8Tile.Gather32(w + T.QhOffset, offsets).AsUInt32();
                w0 |= AffineTileLayout<T>.HighBits(qh, 0); w1 |= AffineTileLayout<T>.HighBits(qh, 1);
                w2 |= AffineTileLayout<T>.HighBits(qh, 2); w3 |= AffineTileLayout<T>.HighBits(qh, 3);
                w4 |= AffineTileLayout<T>.HighBits(qh, 4); w5 |= AffineTileLayout<T>.HighBits(qh, 5);
                w6 |= AffineTileLayout<T>.HighBits(qh, 6); w7 |= AffineTileLayout<T>.HighBits(qh, 7);
            }
            w0.Store(packed); w1.Store(packed + 32); w2.Store(packed + 64); w3.Store(packed + 96);
            w4.Store(packed + 128); w5.Store(packed + 160); w6.Store(packed + 192); w7.Store(packed + 224);
            Int8Tile.GatherFp16(w, offsets).Store((float*)(packed + Dx));
            if (T.HasMin) Int8Tile.GatherFp16(w + 2, offsets).Store((float*)(packed + M));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Micro<TN>(byte* packed, int blocks, byte* a, long aRowBytes, float* scales, int* terms,
        int termStride, float* y, long yStride, bool accumulate) where TN : struct, ITileTokens
    {
        int c = TN.Count;
        long s = aRowBytes, s3 = 3 * aRowBytes;
        int ab = AffineTileLayout<T>.ActivationBytes;
        byte* a0 = a + AffineTileLayout<T>.QuantsOffset;
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int b = 0; b < blocks; b++, packed += PackedBlockBytes, scales += termStride, terms += termStride)
        {
            var w0 = Vector256.Load(packed); var w1 = Vector256.Load(packed + 32);
            var w2 = Vector256.Load(packed + 64); var w3 = Vector256.Load(packed + 96);
            var w4 = Vector256.Load(packed + 128); var w5 = Vector256.Load(packed + 160);
            var w6 = Vector256.Load(packed + 192); var w7 = Vector256.Load(packed + 224);
            var dx = Vector256.Load((float*)(packed + Dx));
            var m = T.HasMin ? Vector256.Load((float*)(packed + M)) : default;
            byte* q = a0 + b * ab;
            acc0 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, m, q, scales, terms, acc0);
            if (c > 1) acc1 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, m, q + s, scales + 1, terms + 1, acc1);
            if (c > 2) acc2 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, m, q + 2 * s, scales + 2, terms + 2, acc2);
            if (c > 3) acc3 = Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, m, q + s3, scales + 3, terms + 3, acc3);
        }
        Int8Tile.Store(acc0, y, accumulate);
        if (c > 1) Int8Tile.Store(acc1, y + yStride, accumulate);
        if (c > 2) Int8Tile.Store(acc2, y + 2 * yStride, accumulate);
        if (c > 3) Int8Tile.Store(acc3, y + 3 * yStride, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Token(Vector256<byte> w0, Vector256<byte> w1, Vector256<byte> w2, Vector256<byte> w3,
        Vector256<byte> w4, Vector256<byte> w5, Vector256<byte> w6, Vector256<byte> w7, Vector256<float> dx, Vector256<float> m,
        byte* q, float* dy, int* term, Vector256<float> acc)
    {
        var first = (Int8Dot.MulAdd(w0, Int8Tile.Broadcast4x8(q)) + Int8Dot.MulAdd(w1, Int8Tile.Broadcast4x8(q + 4)))
            + (Int8Dot.MulAdd(w2, Int8Tile.Broadcast4x8(q + 8)) + Int8Dot.MulAdd(w3, Int8Tile.Broadcast4x8(q + 12)));
        var second = (Int8Dot.MulAdd(w4, Int8Tile.Broadcast4x8(q + 16)) + Int8Dot.MulAdd(w5, Int8Tile.Broadcast4x8(q + 20)))
            + (Int8Dot.MulAdd(w6, Int8Tile.Broadcast4x8(q + 24)) + Int8Dot.MulAdd(w7, Int8Tile.Broadcast4x8(q + 28)));
        var sum = AffineTileLayout<T>.HasHighBit ? Int8Dot.SumPairs(first) + Int8Dot.SumPairs(second) : Int8Dot.SumPairs(first + second);
        if (T.HasMin)
            return Vector256.FusedMultiplyAdd(m, Vector256.Create(*(float*)term),
                Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sum) * dx, Vector256.Create(*dy), acc));
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sum - Vector256.Create(*term)) * dx, Vector256.Create(*dy), acc);
    }
}
