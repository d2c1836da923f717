using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cria.Tensors.Formats;

namespace Cria.Tensors.Interleaved;

/// <summary>Q8_0 rows interleaved 16 at a time: block b of a group is 544 bytes (the 16 blocks it replaces), eight
/// 64-byte vectors whose 32-bit lane i holds quants 4k…4k+3 of row i, then the 16 rows' fp16 scales. One token runs the
/// Q8_0 tile's arithmetic (<see cref="Q8_0Tile512"/>: each weight biased to unsigned and split into nibbles, so
/// vpmaddubsw never saturates) straight from the loaded group.</summary>
internal static unsafe class Q8_0x16
{
    public const int GroupRows = 16;
    public const int BlockBytes = GroupRows * 34;
    private const int ScalesOffset = 512;

    /// <summary>Repacks <paramref name="rows"/> (a multiple of 16) stored rows of <paramref name="cols"/> elements from
    /// <paramref name="source"/> into <paramref name="destination"/> (not overlapping).</summary>
    public static bool RepackRows(byte* source, byte* destination, int rows, int cols)
    {
        InterleavedRepack.Groups("Q8_0x16", GgmlType.Q8_0, source, destination, rows, cols, &RepackBlock);
        return true;
    }

    private static void RepackBlock(byte* copy, long rowBytes, int b, byte* dst)
    {
        byte* src = copy + b * 34L;
        InterleavedRepack.Words4(src + 2, rowBytes, dst, 64);
        InterleavedRepack.Words4(src + 18, rowBytes, dst + 256, 64);
        for (int i = 0; i < GroupRows; i++) *(ushort*)(dst + ScalesOffset + 2 * i) = *(ushort*)(src + i * rowBytes);
    }

    /// <summary>Row <paramref name="row"/> as floats (exactly ggml's Q8_0 dequantisation).</summary>
    public static void DequantizeRow(byte* data, long rowBytes, int row, int cols, float* destination)
    {
        Fp16.EnsureTable();
        int i = row % GroupRows;
        byte* group = data + (long)(row - i) * rowBytes;
        for (int b = 0; b < cols / 32; b++)
        {
            byte* block = group + (long)b * BlockBytes;
            float d = Fp16.LoadScale(block + ScalesOffset + 2 * i);
            for (int k = 0; k < 8; k++)
                for (int j = 0; j < 4; j++) destination[32 * b + 4 * k + j] = (sbyte)block[64 * k + 4 * i + j] * d;
        }
    }

    [SkipLocalsInit]
    public static void Gemv(byte* w, int groups, byte* a, int n, float* y)
    {
        if (n <= 0 || n % 32 != 0) throw new ArgumentException($"Q8_0x16 Gemv: n = {n} is not a whole number of 32-element blocks", nameof(n));
        Fp16.EnsureTable();
        int nb = n / 32;
        // Per block of the token: its scale, and 128·Σq (the bias of the unsigned weights).
        float* dy = stackalloc float[nb];
        int* corrections = stackalloc int[nb];
        Int8Tile.PrepareQ8_0(a, 0, 1, nb, dy, corrections, 128);
        if (SimdTier.Current >= 512) Gemv512(w, groups, a + 2, nb, dy, corrections, y);
        else GemvScalar(w, groups, a + 2, nb, dy, y);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemv512(byte* w, int groups, byte* q0, int nb, float* dy, int* corrections, float* y)
    {
        for (int g = 0; g < groups; g++, y += GroupRows)
        {
            var acc = Vector512<float>.Zero;
            byte* q = q0;
            for (int b = 0; b < nb; b++, w += BlockBytes, q += 34)
            {
                Vector512<short> hi = default, lo = default;
                Step(w, q, 0, ref hi, ref lo); Step(w, q, 1, ref hi, ref lo); Step(w, q, 2, ref hi, ref lo); Step(w, q, 3, ref hi, ref lo);
                Step(w, q, 4, ref hi, ref lo); Step(w, q, 5, ref hi, ref lo); Step(w, q, 6, ref hi, ref lo); Step(w, q, 7, ref hi, ref lo);
                var sum = Avx512BW.MultiplyAddAdjacent(hi, Vector512.Create((short)16)) + Int8Dot.SumPairs(lo);
                var dx = Fp16.Widen(Avx512F.ConvertToVector512Int32(Vector256.Load((short*)(w + ScalesOffset))));
                acc = Q8_0Tile512.Scale(sum, dx, dy + b, corrections + b, acc);
            }
            acc.Store(y);
        }
    }

    /// <summary>Step k (quants 4k…4k+3 of the 16 rows) as (w + 128) = 16·hi + lo against the token's broadcast quants.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(byte* w, byte* q, int k, ref Vector512<short> hi, ref Vector512<short> lo)
    {
        var low = Vector512.Create((byte)0x0F);
        var d = Vector512.Load(w + 64 * k);
        var x = Int8Tile.Broadcast4x16(q + 4 * k);
        hi += Int8Dot.MulAdd((((d ^ Vector512.Create((byte)0x80)).AsUInt16() >>> 4).AsByte() & low), x);
        lo += Int8Dot.MulAdd(d & low, x);
    }

    // The vector body's sums are exactly Σ w·q per block (integers); the same float steps follow.
    private static void GemvScalar(byte* w, int groups, byte* q0, int nb, float* dy, float* y)
    {
        for (int g = 0; g < groups; g++, y += GroupRows, w += (long)nb * BlockBytes)
            for (int i = 0; i < GroupRows; i++)
            {
                float acc = 0;
                for (int b = 0; b < nb; b++)
                {
                    byte* block = w + (long)b * BlockBytes;
                    sbyte* q = (sbyte*)(q0 + 34L * b);
                    int sum = 0;
                    for (int k = 0; k < 8; k++)
                        for (int j = 0; j < 4; j++) sum += (sbyte)block[64 * k + 4 * i + j] * q[4 * k + j];
                    acc = MathF.FusedMultiplyAdd(sum * Fp16.LoadScale(block + ScalesOffset + 2 * i), dy[b], acc);
                }
                y[i] = acc;
            }
    }

    public static void Tile(byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n, float* y, long yStride) =>
        InterleavedTile<Q8_0x16Tile>.Run("Q8_0x16", GgmlType.Q8_0, 34, 34, &Gemv, w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride);
}

/// <summary><see cref="Q8_0Tile512"/> with its panel decoded from interleaved groups.</summary>
internal unsafe struct Q8_0x16Tile : IInt8TileBody
{
    public static int GroupRows => Q8_0x16.GroupRows;
    public static int MaxTokens => Q8_0Tile512.MaxTokens;
    public static int BlockElements => 32;
    public static int WeightBlockBytes => Q8_0x16.BlockBytes;
    public static int ActivationBlockBytes => 34;
    public static int ChunkBlocks => Q8_0Tile512.ChunkBlocks;
    public static int PackedBlockBytes => Q8_0Tile512.PackedBlockBytes;
    public static int TermInts => 1;

    public static void PrepareActivations(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* terms) =>
        Q8_0Tile512.PrepareActivations(a, aRowBytes, tokens, blocks, scales, terms);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long s, int blocks, byte* packed)
    {
        for (int b = 0; b < blocks; b++, w += Q8_0x16.BlockBytes, packed += 17 * 64)
        {
            for (int k = 0; k < 8; k++) Q8_0Tile512.Split(Vector512.Load(w + 64 * k), packed, k);
            Fp16.Widen(Avx512F.ConvertToVector512Int32(Vector256.Load((short*)(w + 512)))).Store((float*)(packed + 16 * 64));
        }
    }

    public static void Micro<TN>(byte* packed, int blocks, byte* a, long aRowBytes, float* scales, int* terms,
        int termStride, float* y, long yStride, bool accumulate) where TN : struct, ITileTokens =>
        Q8_0Tile512.Micro<TN>(packed, blocks, a, aRowBytes, scales, terms, termStride, y, yStride, accumulate);
}
