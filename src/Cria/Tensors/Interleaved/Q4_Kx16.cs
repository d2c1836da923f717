using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cria.Tensors.Formats;

namespace Cria.Tensors.Interleaved;

/// <summary>Q4_K rows interleaved 16 at a time, in the order the AVX-512 tile (<see cref="KQuant45Tile512{TL}"/>) reads
/// them. Super-block b of a group is 2304 bytes (the 16 blocks it replaces): the 12 scale bytes as three 64-byte
/// vectors of row words, the 16 d and the 16 dmin (fp16), then for each 32-byte chunk c of quants two 4×64-byte sets
/// whose 32-bit lane i holds four bytes of row i (low nibbles sub-block 2c, high nibbles 2c + 1). One decode step
/// streams a group front to back with plain loads: no transposes, no gathers, no jumps back for the prefetcher.</summary>
internal static unsafe class Q4_Kx16
{
    public const int GroupRows = 16;
    public const int BlockBytes = GroupRows * 144;
    private const int ScaleWords = 0, D = ScaleWords + 192, DMin = D + 32, Quants = DMin + 32; // read front to back

    /// <summary>Repacks <paramref name="rows"/> (a multiple of 16) stored rows of <paramref name="cols"/> elements from
    /// <paramref name="source"/> into <paramref name="destination"/> (not overlapping).</summary>
    public static bool RepackRows(byte* source, byte* destination, int rows, int cols)
    {
        InterleavedRepack.Groups("Q4_Kx16", GgmlType.Q4_K, source, destination, rows, cols, &RepackBlock);
        return true;
    }

    private static void RepackBlock(byte* copy, long rowBytes, int b, byte* dst)
    {
        byte* src = copy + b * 144L;
        for (int c = 0; c < 4; c++) // words 0…7 of chunk c: bytes of qs[32c…]
        {
            InterleavedRepack.Words4(src + 16 + 32 * c, rowBytes, dst + Quants + 512 * c, 64);
            InterleavedRepack.Words4(src + 32 + 32 * c, rowBytes, dst + Quants + 512 * c + 256, 64);
        }
        for (int i = 0; i < GroupRows; i++)
        {
            byte* row = src + i * rowBytes;
            for (int k = 0; k < 3; k++) *(uint*)(dst + ScaleWords + 64 * k + 4 * i) = Unsafe.ReadUnaligned<uint>(row + 4 + 4 * k);
            *(ushort*)(dst + D + 2 * i) = *(ushort*)row;
            *(ushort*)(dst + DMin + 2 * i) = *(ushort*)(row + 2);
        }
    }

    /// <summary>Row <paramref name="row"/> as floats, exactly as ggml dequantises Q4_K.</summary>
    public static void DequantizeRow(byte* data, long rowBytes, int row, int cols, float* destination)
    {
        Fp16.EnsureTable();
        int i = row % GroupRows;
        byte* group = data + (long)(row - i) * rowBytes;
        byte* block = stackalloc byte[144];
        for (int b = 0; b < cols / 256; b++)
        {
            StoredBlock(group + (long)b * BlockBytes, i, block);
            Q4_KFormat.Dequantize(block, destination + 256 * b, 256);
        }
    }

    /// <summary>Row i's block as the file stores it (144 bytes).</summary>
    private static void StoredBlock(byte* blk, int i, byte* block)
    {
        *(ushort*)block = *(ushort*)(blk + D + 2 * i);
        *(ushort*)(block + 2) = *(ushort*)(blk + DMin + 2 * i);
        for (int k = 0; k < 3; k++) Unsafe.WriteUnaligned(block + 4 + 4 * k, *(uint*)(blk + ScaleWords + 64 * k + 4 * i));
        for (int c = 0; c < 4; c++)
            for (int k = 0; k < 8; k++) Unsafe.WriteUnaligned(block + 16 + 32 * c + 4 * k, *(uint*)(blk + Quants + 512 * c + 64 * k + 4 * i));
    }

    /// <summary>y[r] = row r · the Q8_K activation row <paramref name="a"/> for <paramref name="groups"/> groups of 16 rows:
    /// the tile's arithmetic on one token (AVX-512), or the same sums in scalar code.</summary>
    [SkipLocalsInit]
    public static void Gemv(byte* w, int groups, byte* a, int n, float* y)
    {
        if (n <= 0 || n % 256 != 0) throw new ArgumentException($"Q4_Kx16 Gemv: n = {n} is not a whole number of 256-element blocks", nameof(n));
        Fp16.EnsureTable();
        int nb = n / 256;
        float* dy = stackalloc float[nb];
        int* pairs = stackalloc int[4 * nb];
        Q8_KPairSums.Prepare(a, 0, 1, nb, dy, pairs);
        if (SimdTier.Current >= 512) Gemv512(w, groups, a + 4, nb, dy, pairs, y);
        else GemvScalar(w, groups, a, nb, dy, y);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemv512(byte* w, int groups, byte* q0, int nb, float* dy, int* pairs, float* y)
    {
        var low = Vector512.Create((byte)0x0F);
        for (int g = 0; g < groups; g++, y += GroupRows)
        {
            var acc = Vector512<float>.Zero;
            byte* q = q0;
            for (int b = 0; b < nb; b++, w += BlockBytes, q += 292)
            {
                // Scales and minimums stay in registers: one vpshufb each where a sub-block needs it.
                KQuant45Tile512<Q4_KLayout>.ScaleMinBytes(Vector512.Load((uint*)(w + ScaleWords)), Vector512.Load((uint*)(w + ScaleWords + 64)),
                    Vector512.Load((uint*)(w + ScaleWords + 128)), out var s0, out var s1, out var m0, out var m1);
                var sum = Vector512<int>.Zero;
                for (int c = 0; c < 4; c++)
                {
                    byte* p = w + Quants + 512 * c;
                    var words = (c < 2 ? s0 : s1).AsByte();
                    var r0 = Vector512.Load(p); var r1 = Vector512.Load(p + 64); var r2 = Vector512.Load(p + 128); var r3 = Vector512.Load(p + 192);
                    var r4 = Vector512.Load(p + 256); var r5 = Vector512.Load(p + 320); var r6 = Vector512.Load(p + 384); var r7 = Vector512.Load(p + 448);
                    sum += KQuant45Tile512<Q4_KLayout>.SubBlock(r0 & low, r1 & low, r2 & low, r3 & low, r4 & low, r5 & low, r6 & low, r7 & low,
                        Int8Tile.BytePairs(words, 2 * c & 3, 2 * c & 3), q + 64 * c);
                    sum += KQuant45Tile512<Q4_KLayout>.SubBlock(High(r0, low), High(r1, low), High(r2, low), High(r3, low),
                        High(r4, low), High(r5, low), High(r6, low), High(r7, low), Int8Tile.BytePairs(words, (2 * c & 3) + 1, (2 * c & 3) + 1), q + 64 * c + 32);
                }
                acc = KQuant45Tile512<Q4_KLayout>.Finish(sum, Int8Tile.BytePairs(m0.AsByte(), 0, 1), Int8Tile.BytePairs(m0.AsByte(), 2, 3),
                    Int8Tile.BytePairs(m1.AsByte(), 0, 1), Int8Tile.BytePairs(m1.AsByte(), 2, 3), pairs + 4 * b,
                    Fp16Lanes(w + D), Fp16Lanes(w + DMin), dy + b, acc);
            }
            acc.Store(y);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> High(Vector512<byte> r, Vector512<byte> low) => (r.AsUInt16() >>> 4).AsByte() & low;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Fp16Lanes(byte* p) => Fp16.Widen(Avx512F.ConvertToVector512Int32(Vector256.Load((short*)p)));

    // The vector body's operations lane by lane: integer sums, then the same two fused multiply-adds.
    private static void GemvScalar(byte* w, int groups, byte* a, int nb, float* dy, float* y)
    {
        byte* block = stackalloc byte[144];
        for (int g = 0; g < groups; g++, y += GroupRows, w += (long)nb * BlockBytes)
            for (int i = 0; i < GroupRows; i++)
            {
                float acc = 0;
                for (int b = 0; b < nb; b++)
                {
                    StoredBlock(w + (long)b * BlockBytes, i, block);
                    KQuantScales.ScalesMins(block + 4, out ulong sc, out ulong mn);
                    byte* act = a + 292L * b;
                    sbyte* q = (sbyte*)(act + 4);
                    short* bsums = (short*)(act + 260);
                    int sum = 0, mins = 0;
                    for (int j = 0; j < 8; j++)
                    {
                        int s = 0;
                        for (int l = 0; l < 32; l++)
                        {
                            int x = block[16 + 32 * (j / 2) + l];
                            s += ((j & 1) == 0 ? x & 0xF : x >> 4) * q[32 * j + l];
                        }
                        sum += (int)(sc >> (8 * j) & 0xFF) * s;
                        mins += (int)(mn >> (8 * j) & 0xFF) * (short)(bsums[2 * j] + bsums[2 * j + 1]);
                    }
                    float d = Fp16.LoadScale(block), dmin = Fp16.LoadScale(block + 2);
                    acc = MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(sum, d, -(mins * dmin)), dy[b], acc);
                }
                y[i] = acc;
            }
    }

    /// <summary><c>DotQ8Tile</c> on interleaved rows: the tile driver with a panel decode that needs no transpose.</summary>
    public static void Tile(byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n, float* y, long yStride) =>
        InterleavedTile<Q4_Kx16Tile>.Run("Q4_Kx16", GgmlType.Q4_K, 144, 292, &Gemv, w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride);

    /// <summary>The panel of <see cref="KQuant45Tile512{TL}"/> from an interleaved super-block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Pack(byte* w, byte* packed)
    {
        var low = Vector512.Create((byte)0x0F);
        for (int c = 0; c < 4; c++)
        {
            byte* lo = packed + 1024 * c, hi = lo + 512;
            for (int k = 0; k < 8; k++)
            {
                var r = Vector512.Load(w + Quants + 512 * c + 64 * k);
                (r & low).Store(lo + 64 * k);
                High(r, low).Store(hi + 64 * k);
            }
        }
        KQuant45Tile512<Q4_KLayout>.StoreScalesMins(Vector512.Load((uint*)(w + ScaleWords)), Vector512.Load((uint*)(w + ScaleWords + 64)),
            Vector512.Load((uint*)(w + ScaleWords + 128)), packed + KQuant45Tile512<Q4_KLayout>.Scales);
        Fp16Lanes(w + D).Store((float*)(packed + KQuant45Tile512<Q4_KLayout>.D));
        Fp16Lanes(w + DMin).Store((float*)(packed + KQuant45Tile512<Q4_KLayout>.DMin));
    }
}

/// <summary><see cref="KQuant45Tile512{TL}"/> for Q4_K with its panel decoded from interleaved groups.</summary>
internal unsafe struct Q4_Kx16Tile : IInt8TileBody
{
    public static int GroupRows => Q4_Kx16.GroupRows;
    public static int MaxTokens => KQuant45Tile512<Q4_KLayout>.MaxTokens;
    public static int BlockElements => 256;
    public static int WeightBlockBytes => Q4_Kx16.BlockBytes;
    public static int ActivationBlockBytes => 292;
    public static int ChunkBlocks => KQuant45Tile512<Q4_KLayout>.ChunkBlocks;
    public static int PackedBlockBytes => KQuant45Tile512<Q4_KLayout>.PackedBlockBytes;
    public static int TermInts => 4;

    public static void PrepareActivations(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* terms) =>
        Q8_KPairSums.Prepare(a, aRowBytes, tokens, blocks, scales, terms);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long s, int blocks, byte* packed)
    {
        for (int b = 0; b < blocks; b++, w += Q4_Kx16.BlockBytes, packed += PackedBlockBytes) Q4_Kx16.Pack(w, packed);
    }

    public static void Micro<TN>(byte* packed, int blocks, byte* a, long aRowBytes, float* scales, int* terms,
        int termStride, float* y, long yStride, bool accumulate) where TN : struct, ITileTokens =>
        KQuant45Tile512<Q4_KLayout>.Micro<TN>(packed, blocks, a, aRowBytes, scales, terms, termStride, y, yStride, accumulate);
}
