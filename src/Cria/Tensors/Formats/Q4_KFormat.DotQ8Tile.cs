using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q4_KFormat
{
    /// <summary><see cref="DotQ8"/> of <paramref name="rows"/> weight rows with <paramref name="tokens"/> activation rows:
    /// <c>y[t·yStride + r] = DotQ8(w + r·wRowBytes, a + t·aRowBytes, n)</c> up to float rounding. Groups of 16 rows (8 with
    /// AVX2) are decoded once per 64 tokens into an L1 panel, multiplied by register tiles of 8 tokens (2).</summary>
    public static void DotQ8Tile(byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n, float* y, long yStride)
    {
        Int8Tile.Validate(GgmlType.Q4_K, 256, 144, new(256, 292), w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride);
        Fp16.EnsureTable();
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) Int8TileDriver<KQuant45Tile512<Q4_KLayout>>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
        else if (bits >= 256 && SimdTier.Has256) Int8TileDriver<KQuant45Tile256<Q4_KLayout>>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
        else Int8Tile.RowDots(w, wRowBytes, 0, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
    }
}

/// <summary>Per (block, token) terms of Q8_K activations for Q4_K/Q5_K weights: the scale d, and the four pairs of
/// sub-block sums (bsums[4k] + bsums[4k+1], bsums[4k+2] + bsums[4k+3]) as int16 pairs, which the minimums multiply.</summary>
internal static unsafe class Q8_KPairSums
{
    public static void Prepare(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* terms)
    {
        for (int t = 0; t < tokens; t++)
        {
            byte* src = a + t * aRowBytes;
            for (int b = 0; b < blocks; b++, src += 292)
            {
                int i = b * tokens + t;
                scales[i] = *(float*)src;
                short* bsums = (short*)(src + 260);
                for (int k = 0; k < 4; k++)
                    terms[4 * i + k] = (ushort)(bsums[4 * k] + bsums[4 * k + 1]) | (bsums[4 * k + 2] + bsums[4 * k + 3]) << 16;
            }
        }
    }
}
