using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cria.Tensors.Formats;

namespace Cria.Tensors.Interleaved;

/// <summary>Q4_0 rows interleaved 16 at a time, the layout the AVX-512 tile reads: block b of a group of 16 rows is
/// 288 bytes (the size of the 16 blocks it replaces), four 64-byte vectors whose 32-bit lane i holds bytes 4k…4k+3 of
/// row i's quants (low nibbles elements 4k…, high nibbles 16 + 4k…), then the 16 rows' fp16 scales. A decode step then
/// streams one group with plain loads: no transpose, no gathered scales, and each broadcast activation word serves 16
/// rows (llama.cpp's zen4 build repacks Q4_0 the same way, 8 rows wide).</summary>
internal static unsafe class Q4_0x16
{
    public const int GroupRows = 16;
    public const int BlockBytes = GroupRows * 18;
    private const int ScalesOffset = 256;

    /// <summary>Repacks <paramref name="rows"/> (a multiple of 16) stored rows of <paramref name="cols"/> elements from
    /// <paramref name="source"/> into <paramref name="destination"/> (not overlapping).</summary>
    public static bool RepackRows(byte* source, byte* destination, int rows, int cols)
    {
        InterleavedRepack.Groups("Q4_0x16", GgmlType.Q4_0, source, destination, rows, cols, &RepackBlock);
        return true;
    }

    private static void RepackBlock(byte* copy, long rowBytes, int b, byte* dst)
    {
        byte* src = copy + b * 18L;
        InterleavedRepack.Words4(src + 2, rowBytes, dst, 64);
        for (int i = 0; i < GroupRows; i++) *(ushort*)(dst + ScalesOffset + 2 * i) = *(ushort*)(src + i * rowBytes);
    }

    /// <summary>Row <paramref name="row"/> of the interleaved matrix as floats (exactly ggml's Q4_0 dequantisation).</summary>
    public static void DequantizeRow(byte* data, long rowBytes, int row, int cols, float* destination)
    {
        Fp16.EnsureTable();
        int i = row % GroupRows;
        byte* group = data + (long)(row - i) * rowBytes;
        for (int b = 0; b < cols / 32; b++)
        {
            byte* block = group + (long)b * BlockBytes;
            float d = Fp16.LoadScale(block + ScalesOffset + 2 * i);
            float* y = destination + 32 * b;
            for (int k = 0; k < 4; k++)
                for (int j = 0; j < 4; j++)
                {
                    int q = block[64 * k + 4 * i + j];
                    y[4 * k + j] = ((q & 0xF) - 8) * d;
                    y[16 + 4 * k + j] = ((q >> 4) - 8) * d;
                }
        }
    }

    /// <summary>y[r] = row r · the Q8_0 activation row <paramref name="a"/>, for the <paramref name="groups"/> groups of 16
    /// rows at <paramref name="w"/>: the tile's arithmetic on one token (AVX-512), or the same sums in scalar code.</summary>
    [SkipLocalsInit]
    public static void Gemv(byte* w, int groups, byte* a, int n, float* y)
    {
        if (n <= 0 || n % 32 != 0) throw new ArgumentException($"Q4_0x16 Gemv: n = {n} is not a whole number of 32-element blocks", nameof(n));
        Fp16.EnsureTable();
        int nb = n / 32;
        // Per block of the token: its scale, and −8·Σq (the unsigned nibbles' offset).
        float* dy = stackalloc float[nb];
        int* terms = stackalloc int[nb];
        AffineTileLayout<Q4_0Format>.Prepare(a, 0, 1, nb, dy, terms);
        if (SimdTier.Current >= 512) Gemv512(w, groups, a + 2, nb, dy, terms, y);
        else GemvScalar(w, groups, a + 2, nb, dy, terms, y);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemv512(byte* w, int groups, byte* q0, int nb, float* dy, int* terms, float* y)
    {
        var low = Vector512.Create((byte)0x0F);
        for (int g = 0; g < groups; g++, y += GroupRows)
        {
            var acc = Vector512<float>.Zero;
            byte* q = q0;
            for (int b = 0; b < nb; b++, w += BlockBytes, q += 34)
            {
                Unpack(w, low, out var w0, out var w1, out var w2, out var w3, out var w4, out var w5, out var w6, out var w7);
                var dx = Scales(w);
                acc = AffineTile512<Q4_0Format>.Token(w0, w1, w2, w3, w4, w5, w6, w7, dx, default, q, dy + b, terms + b, acc);
            }
            acc.Store(y);
        }
    }

    // The same operations as the vector body, lane by lane, so both give identical floats.
    private static void GemvScalar(byte* w, int groups, byte* q0, int nb, float* dy, int* terms, float* y)
    {
        for (int g = 0; g < groups; g++, y += GroupRows, w += (long)nb * BlockBytes)
            for (int i = 0; i < GroupRows; i++)
            {
                float acc = 0;
                for (int b = 0; b < nb; b++)
                {
                    byte* block = w + (long)b * BlockBytes;
                    byte* q = q0 + 34L * b;
                    int sum = 0;
                    for (int k = 0; k < 4; k++)
                        for (int j = 0; j < 4; j++)
                        {
                            int x = block[64 * k + 4 * i + j];
                            sum += (x & 0xF) * (sbyte)q[4 * k + j] + (x >> 4) * (sbyte)q[16 + 4 * k + j];
                        }
                    float dx = Fp16.LoadScale(block + ScalesOffset + 2 * i);
                    acc = MathF.FusedMultiplyAdd((sum - terms[b]) * dx, dy[b], acc);
                }
                y[i] = acc;
            }
    }

    /// <summary>Block b's quants as the tile's eight vectors (bytes 0-3 of each row's lane: elements 4k…4k+3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Unpack(byte* block, Vector512<byte> low, out Vector512<byte> w0, out Vector512<byte> w1,
        out Vector512<byte> w2, out Vector512<byte> w3, out Vector512<byte> w4, out Vector512<byte> w5,
        out Vector512<byte> w6, out Vector512<byte> w7)
    {
        var d0 = Vector512.Load(block); var d1 = Vector512.Load(block + 64);
        var d2 = Vector512.Load(block + 128); var d3 = Vector512.Load(block + 192);
        w0 = d0 & low; w1 = d1 & low; w2 = d2 & low; w3 = d3 & low;
        w4 = (d0.AsUInt16() >>> 4).AsByte() & low; w5 = (d1.AsUInt16() >>> 4).AsByte() & low;
        w6 = (d2.AsUInt16() >>> 4).AsByte() & low; w7 = (d3.AsUInt16() >>> 4).AsByte() & low;
    }

    /// <summary>The 16 rows' fp16 scales of a block as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Scales(byte* block) =>
        Fp16.Widen(Avx512F.ConvertToVector512Int32(Vector256.Load((short*)(block + ScalesOffset))));

    /// <summary><c>DotQ8Tile</c> on interleaved rows: the tile driver with a panel decode that needs no transpose.</summary>
    public static void Tile(byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n, float* y, long yStride) =>
        InterleavedTile<Q4_0x16Tile>.Run("Q4_0x16", GgmlType.Q4_0, 18, 34, &Gemv, w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride);
}

/// <summary>The AVX-512 affine tile of Q4_0 (<see cref="AffineTile512{T}"/>) with its panel decoded from interleaved
/// groups: a group's block is 288 contiguous bytes, so <see cref="Int8TileDriver{TBody}"/>'s block offsets hold.</summary>
internal unsafe struct Q4_0x16Tile : IInt8TileBody
{
    public static int GroupRows => Q4_0x16.GroupRows;
    public static int MaxTokens => AffineTile512<Q4_0Format>.MaxTokens;
    public static int BlockElements => 32;
    public static int WeightBlockBytes => Q4_0x16.BlockBytes;
    public static int ActivationBlockBytes => 34;
    public static int ChunkBlocks => AffineTile512<Q4_0Format>.ChunkBlocks;
    public static int PackedBlockBytes => AffineTile512<Q4_0Format>.PackedBlockBytes;
    public static int TermInts => 1;

    public static void PrepareActivations(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* terms) =>
        AffineTileLayout<Q4_0Format>.Prepare(a, aRowBytes, tokens, blocks, scales, terms);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long s, int blocks, byte* packed)
    {
        var low = Vector512.Create((byte)0x0F);
        for (int b = 0; b < blocks; b++, w += Q4_0x16.BlockBytes, packed += PackedBlockBytes)
        {
            Q4_0x16.Unpack(w, low, out var w0, out var w1, out var w2, out var w3, out var w4, out var w5, out var w6, out var w7);
            w0.Store(packed); w1.Store(packed + 64); w2.Store(packed + 128); w3.Store(packed + 192);
            w4.Store(packed + 256); w5.Store(packed + 320); w6.Store(packed + 384); w7.Store(packed + 448);
            Q4_0x16.Scales(w).Store((float*)(packed + AffineTile512<Q4_0Format>.Dx));
        }
    }

    public static void Micro<TN>(byte* packed, int blocks, byte* a, long aRowBytes, float* scales, int* terms,
        int termStride, float* y, long yStride, bool accumulate) where TN : struct, ITileTokens =>
        AffineTile512<Q4_0Format>.Micro<TN>(packed, blocks, a, aRowBytes, scales, terms, termStride, y, yStride, accumulate);
}
