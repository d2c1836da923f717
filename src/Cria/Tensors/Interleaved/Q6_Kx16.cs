using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cria.Tensors.Formats;

namespace Cria.Tensors.Interleaved;

/// <summary>Q6_K rows interleaved 16 at a time. Super-block b of a group is 3360 bytes (the 16 blocks it replaces): 52
/// vectors of 64 bytes whose 32-bit lane i holds one word of row i's block (4 of scales, 32 of ql, 16 of qh), in the
/// order the decode reads them (<see cref="WordOffset"/>), then the 16 d (fp16). One decode step streams a group
/// front to back with plain loads (in another order the hardware prefetcher fell behind: 7 GB/s from memory, 37 from
/// cache): a step's two ql vectors and qh vector give 16 rows' 6-bit quants for four sub-blocks in three or four
/// integer operations each, each broadcast activation word meets 16 rows in one vpmaddubsw, and the int8 scales
/// multiply in the vpmaddwd that widens the sums (the sub-block-of-16 tile's arithmetic, <see cref="KQuant16Tile512{TL}"/>).</summary>
internal static unsafe class Q6_Kx16
{
    public const int GroupRows = 16;
    public const int BlockBytes = GroupRows * 210;
    private const int Quarters = 256, QuarterBytes = 12 * 64, StepBytes = 3 * 64, D = 52 * 64;

    /// <summary>The stored block's byte offset of vector v's word. v = 0…3: scales[4v]. Then quarter Q = 2h + kk (the
    /// sub-blocks 8h + 2r + kk, r = 0…3), step k = 0…3, at v = 4 + 12Q + 3k: ql[64h + 16kk + 4k], ql[64h + 32 + 16kk + 4k]
    /// and qh[32h + 16kk + 4k] (elements 128h + 32r + 16kk + 4k…, low nibbles r = 0, 1, high nibbles r = 2, 3, qh bits 2r).</summary>
    private static int WordOffset(int v)
    {
        if (v < 4) return 192 + 4 * v;
        int t = v - 4, quarter = t / 12, k = t % 12 / 3, h = quarter >> 1, kk = quarter & 1;
        return (t % 3) switch
        {
            0 => 64 * h + 16 * kk + 4 * k,
            1 => 64 * h + 32 + 16 * kk + 4 * k,
            _ => 128 + 32 * h + 16 * kk + 4 * k,
        };
    }

    /// <summary>Repacks <paramref name="rows"/> (a multiple of 16) stored rows of <paramref name="cols"/> elements from
    /// <paramref name="source"/> into <paramref name="destination"/> (not overlapping).</summary>
    public static bool RepackRows(byte* source, byte* destination, int rows, int cols)
    {
        InterleavedRepack.Groups("Q6_Kx16", GgmlType.Q6_K, source, destination, rows, cols, &RepackBlock);
        return true;
    }

    private static void RepackBlock(byte* copy, long rowBytes, int b, byte* dst)
    {
        byte* src = copy + b * 210L;
        // Runs of four consecutive words of each row: the scales, and per quarter its ql, ql + 32 and qh words.
        InterleavedRepack.Words4(src + 192, rowBytes, dst, 64);
        for (int v = 4; v < 52; v += 12)
            for (int which = 0; which < 3; which++)
                InterleavedRepack.Words4(src + WordOffset(v + which), rowBytes, dst + 64 * (v + which), StepBytes);
        for (int i = 0; i < GroupRows; i++) *(ushort*)(dst + D + 2 * i) = *(ushort*)(src + i * rowBytes + 208);
    }

    /// <summary>Row i's block as the file stores it (210 bytes).</summary>
    private static void StoredBlock(byte* blk, int i, byte* block)
    {
        for (int v = 0; v < 52; v++) Unsafe.WriteUnaligned(block + WordOffset(v), *(uint*)(blk + 64 * v + 4 * i));
        *(ushort*)(block + 208) = *(ushort*)(blk + D + 2 * i);
    }

    /// <summary>Row <paramref name="row"/> as floats, exactly as ggml dequantises Q6_K.</summary>
    public static void DequantizeRow(byte* data, long rowBytes, int row, int cols, float* destination)
    {
        Fp16.EnsureTable();
        int i = row % GroupRows;
        byte* group = data + (long)(row - i) * rowBytes;
        byte* block = stackalloc byte[210];
        for (int b = 0; b < cols / 256; b++)
        {
            StoredBlock(group + (long)b * BlockBytes, i, block);
            Q6_KFormat.Dequantize(block, destination + 256 * b, 256);
        }
    }

    /// <summary>y[r] = row r · the Q8_K activation row <paramref name="a"/> for <paramref name="groups"/> groups of 16 rows
    /// (AVX-512), or the same sums in scalar code.</summary>
    public static void Gemv(byte* w, int groups, byte* a, int n, float* y)
    {
        if (n <= 0 || n % 256 != 0) throw new ArgumentException($"Q6_Kx16 Gemv: n = {n} is not a whole number of 256-element blocks", nameof(n));
        Fp16.EnsureTable();
        if (SimdTier.Current >= 512) Gemv512(w, groups, a, n / 256, y);
        else GemvScalar(w, groups, a, n / 256, y);
    }

    /// <summary>vpshufb controls putting scale byte c of each row's word into both int16 halves (high bytes, for an
    /// arithmetic shift to sign-extend): c = 0, 1, 2, 3, then the pairs (0, 1) and (2, 3) for the offsets.</summary>
    private static readonly Vector512<byte>[] ScaleControls =
    [
        Vector512.Create(Int8Tile.PairControl(0, 0, true)), Vector512.Create(Int8Tile.PairControl(1, 1, true)),
        Vector512.Create(Int8Tile.PairControl(2, 2, true)), Vector512.Create(Int8Tile.PairControl(3, 3, true)),
        Vector512.Create(Int8Tile.PairControl(0, 1, true)), Vector512.Create(Int8Tile.PairControl(2, 3, true)),
    ];

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemv512(byte* w, int groups, byte* a0, int nb, float* y)
    {
        var low = Vector512.Create((byte)0x0F);
        var high2 = Vector512.Create((byte)0x30);
        fixed (Vector512<byte>* controls = ScaleControls)
            for (int g = 0; g < groups; g++, y += GroupRows)
            {
                var acc = Vector512<float>.Zero;
                byte* a = a0;
                for (int b = 0; b < nb; b++, w += BlockBytes, a += 292)
                {
                    byte* q = a + 4;
                    // −32·Σ scale·bsum (the quants are stored with an offset of 32): each scale word's two pairs.
                    var offsets = Vector512<int>.Zero;
                    for (int m = 0; m < 4; m++)
                    {
                        var words = Vector512.Load(w + 64 * m);
                        offsets += Avx512BW.MultiplyAddAdjacent(Avx512BW.Shuffle(words, controls[4]).AsInt16() >> 8, Vector512.Create(*(int*)(q + 256 + 8 * m)).AsInt16());
                        offsets += Avx512BW.MultiplyAddAdjacent(Avx512BW.Shuffle(words, controls[5]).AsInt16() >> 8, Vector512.Create(*(int*)(q + 260 + 8 * m)).AsInt16());
                    }
                    var sum = -offsets << 5;
                    // Quarter (h, kk): sub-blocks 8h + 2r + kk, r = 0…3 (elements 128h + 32r + 16kk + 0…15), whose scales
                    // are bytes 2(r mod 2) + kk of scale words 2h and 2h + 1.
                    byte* step = w + Quarters;
                    for (int quarter = 0; quarter < 4; quarter++)
                    {
                        int h = quarter >> 1, kk = quarter & 1;
                        byte* x = q + 128 * h + 16 * kk;
                        var sa = Vector512.Load(w + 128 * h);
                        var sb = Vector512.Load(w + 128 * h + 64);
                        var c0 = controls[kk];
                        var c2 = controls[2 + kk];
                        for (int k = 0; k < 4; k += 2, step += 2 * StepBytes) // two steps per int16 sum: q ≤ 63, so 2·2·63·128 fits
                        {
                            Six(step, low, high2, out var q0, out var q1, out var q2, out var q3);
                            var p0 = Int8Dot.MulAdd(q0, Int8Tile.Broadcast4x16(x + 4 * k));
                            var p1 = Int8Dot.MulAdd(q1, Int8Tile.Broadcast4x16(x + 32 + 4 * k));
                            var p2 = Int8Dot.MulAdd(q2, Int8Tile.Broadcast4x16(x + 64 + 4 * k));
                            var p3 = Int8Dot.MulAdd(q3, Int8Tile.Broadcast4x16(x + 96 + 4 * k));
                            Six(step + StepBytes, low, high2, out q0, out q1, out q2, out q3);
                            p0 += Int8Dot.MulAdd(q0, Int8Tile.Broadcast4x16(x + 4 * k + 4));
                            p1 += Int8Dot.MulAdd(q1, Int8Tile.Broadcast4x16(x + 36 + 4 * k));
                            p2 += Int8Dot.MulAdd(q2, Int8Tile.Broadcast4x16(x + 68 + 4 * k));
                            p3 += Int8Dot.MulAdd(q3, Int8Tile.Broadcast4x16(x + 100 + 4 * k));
                            sum += Avx512BW.MultiplyAddAdjacent(p0, Avx512BW.Shuffle(sa, c0).AsInt16() >> 8);
                            sum += Avx512BW.MultiplyAddAdjacent(p1, Avx512BW.Shuffle(sa, c2).AsInt16() >> 8);
                            sum += Avx512BW.MultiplyAddAdjacent(p2, Avx512BW.Shuffle(sb, c0).AsInt16() >> 8);
                            sum += Avx512BW.MultiplyAddAdjacent(p3, Avx512BW.Shuffle(sb, c2).AsInt16() >> 8);
                        }
                    }
                    var d = Fp16.Widen(Avx512F.ConvertToVector512Int32(Vector256.Load((short*)(w + D))));
                    acc = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum) * d, Vector512.Create(*(float*)a), acc);
                }
                acc.Store(y);
            }
    }

    /// <summary>The 6-bit quants of one step for r = 0…3: ql nibble | qh bits 2r moved to bits 4-5.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Six(byte* step, Vector512<byte> low, Vector512<byte> high2,
        out Vector512<byte> q0, out Vector512<byte> q1, out Vector512<byte> q2, out Vector512<byte> q3)
    {
        var l0 = Vector512.Load(step); var l1 = Vector512.Load(step + 64); var hb = Vector512.Load(step + 128);
        q0 = Avx512F.TernaryLogic((hb.AsUInt16() << 4).AsByte(), l0 & low, high2, 0xEC); // (a & c) | b
        q1 = Avx512F.TernaryLogic((hb.AsUInt16() << 2).AsByte(), l1 & low, high2, 0xEC);
        q2 = Avx512F.TernaryLogic(hb, (l0.AsUInt16() >>> 4).AsByte() & low, high2, 0xEC);
        q3 = Avx512F.TernaryLogic((hb.AsUInt16() >>> 2).AsByte(), (l1.AsUInt16() >>> 4).AsByte() & low, high2, 0xEC);
    }

    // The vector body's arithmetic row by row: the same exact integer sum, then the same multiply and fused multiply-add.
    private static void GemvScalar(byte* w, int groups, byte* a0, int nb, float* y)
    {
        byte* block = stackalloc byte[210];
        for (int g = 0; g < groups; g++, y += GroupRows, w += (long)nb * BlockBytes)
            for (int i = 0; i < GroupRows; i++)
            {
                float acc = 0;
                for (int b = 0; b < nb; b++)
                {
                    StoredBlock(w + (long)b * BlockBytes, i, block);
                    byte* act = a0 + 292L * b;
                    sbyte* q = (sbyte*)(act + 4);
                    short* bsums = (short*)(act + 260);
                    sbyte* scales = (sbyte*)(block + 192);
                    int sum = 0;
                    for (int e = 0; e < 256; e++)
                    {
                        int h = e / 128, r = e % 128 / 32, l = e % 32;
                        int nibble = (block[64 * h + 32 * (r & 1) + l] >> (4 * (r >> 1))) & 0xF;
                        int six = nibble | (block[128 + 32 * h + l] >> (2 * r) & 3) << 4;
                        sum += scales[e / 16] * six * q[e];
                    }
                    for (int j = 0; j < 16; j++) sum -= 32 * scales[j] * bsums[j];
                    float d = Fp16.LoadScale(block + 208);
                    acc = MathF.FusedMultiplyAdd(sum * d, *(float*)act, acc);
                }
                y[i] = acc;
            }
    }

    /// <summary><c>DotQ8Tile</c> on interleaved rows: the tile driver with a panel decode that needs no transpose.</summary>
    public static void Tile(byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n, float* y, long yStride) =>
        InterleavedTile<Q6_Kx16Tile>.Run("Q6_Kx16", GgmlType.Q6_K, 210, 292, &Gemv, w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride);

    /// <summary>The panel of <see cref="KQuant16Tile512{TL}"/> (Q6_K) from an interleaved super-block: what its
    /// <c>PackBlock512</c> makes from 16 stored rows, with loads in place of the transposes and the gather.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Pack(byte* w, byte* packed)
    {
        var low = Vector512.Create((byte)0x0F);
        var high2 = Vector512.Create((byte)0x30);
        for (int quarter = 0; quarter < 4; quarter++)
            for (int k = 0; k < 4; k++) // sub-blocks 8h + 2r + kk at 64·(4·sub-block + k) of the panel
            {
                Six(w + Quarters + QuarterBytes * quarter + StepBytes * k, low, high2, out var q0, out var q1, out var q2, out var q3);
                byte* p = packed + 256 * (8 * (quarter >> 1) + (quarter & 1)) + 64 * k;
                q0.Store(p); q1.Store(p + 512); q2.Store(p + 1024); q3.Store(p + 1536);
            }
        for (int m = 0; m < 4; m++) KQuant16.StoreSignedScales(Vector512.Load(w + 64 * m), packed, m);
        Fp16.Widen(Avx512F.ConvertToVector512Int32(Vector256.Load((short*)(w + D)))).Store((float*)(packed + KQuant16.D512));
    }
}

/// <summary><see cref="KQuant16Tile512{TL}"/> for Q6_K with its panel decoded from interleaved groups.</summary>
internal unsafe struct Q6_Kx16Tile : IInt8TileBody
{
    public static int GroupRows => Q6_Kx16.GroupRows;
    public static int MaxTokens => KQuant16Tile512<Q6_KLayout>.MaxTokens;
    public static int BlockElements => 256;
    public static int WeightBlockBytes => Q6_Kx16.BlockBytes;
    public static int ActivationBlockBytes => 292;
    public static int ChunkBlocks => KQuant16Tile512<Q6_KLayout>.ChunkBlocks;
    public static int PackedBlockBytes => KQuant16Tile512<Q6_KLayout>.PackedBlockBytes;
    public static int TermInts => 0;

    public static void PrepareActivations(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* terms) =>
        Int8Tile.PrepareQ8_KScales(a, aRowBytes, tokens, blocks, scales);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long s, int blocks, byte* packed)
    {
        for (int b = 0; b < blocks; b++, w += Q6_Kx16.BlockBytes, packed += PackedBlockBytes) Q6_Kx16.Pack(w, packed);
    }

    public static void Micro<TN>(byte* packed, int blocks, byte* a, long aRowBytes, float* scales, int* terms,
        int termStride, float* y, long yStride, bool accumulate) where TN : struct, ITileTokens =>
        KQuant16Tile512<Q6_KLayout>.Micro<TN>(packed, blocks, a, aRowBytes, scales, terms, termStride, y, yStride, accumulate);
}
