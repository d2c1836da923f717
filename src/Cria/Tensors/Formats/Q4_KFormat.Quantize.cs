using System.Runtime.CompilerServices;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q4_KFormat
{
    /// <summary>ggml <c>quantize_row_q4_K_ref</c> (what <c>quantize_q4_K</c> does without an importance matrix): each
    /// 32-element sub-block gets a scale and a min from <c>make_qkx2_quants</c> (weights rms + |x|, 21 candidate
    /// scales); both are quantised to 6 bits against the block's largest, then every element is re-rounded to 4 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // long loops: skip tier-0 and OSR
    public static void Quantize(float* x, byte* y, long n)
    {
        byte* L = stackalloc byte[256];
        byte* Laux = stackalloc byte[32];
        float* weights = stackalloc float[32];
        float* mins = stackalloc float[8];
        float* scales = stackalloc float[8];

        for (long i = 0; i < n / 256; i++, x += 256, y += 144)
        {
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < 8; ++j)
            {
                float sumX2 = 0;
                for (int l = 0; l < 32; ++l) sumX2 += x[32 * j + l] * x[32 * j + l];
                float avX = MathF.Sqrt(sumX2 / 32);
                for (int l = 0; l < 32; ++l) weights[l] = avX + MathF.Abs(x[32 * j + l]);
                scales[j] = QuantMath.MakeQkx2Quants(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -1f, 0.1f, 20, false);
                if (scales[j] > maxScale) maxScale = scales[j];
                if (mins[j] > maxMin) maxMin = mins[j];
            }
            KQuantScales.PackScalesMins(y, scales, mins, maxScale, maxMin);
            RequantizeSubBlocks(x, y, L, 15);

            byte* q = y + 16;
            for (int j = 0; j < 256; j += 64, q += 32)
                for (int l = 0; l < 32; ++l) q[l] = (byte)(L[j + l] | (L[j + l + 32] << 4));
        }
    }

    /// <summary>The last step that Q4_K and Q5_K share: re-rounds every element of the super-block at <paramref name="x"/>
    /// to [0, <paramref name="nmax"/>] with the scales and mins now stored in block <paramref name="y"/> (d, dmin, scales
    /// at 0, 2, 4). A sub-block whose stored scale is zero keeps the levels <c>make_qkx2_quants</c> chose.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void RequantizeSubBlocks(float* x, byte* y, byte* L, int nmax)
    {
        for (int j = 0; j < 8; ++j)
        {
            KQuantScales.ScaleMin(j, y + 4, out int sc, out int m);
            float d = Fp16.Load(y) * sc;
            if (d == 0) continue;
            float dm = Fp16.Load(y + 2) * m;
            for (int ii = 0; ii < 32; ++ii)
                L[32 * j + ii] = (byte)Math.Max(0, Math.Min(nmax, QuantMath.NearestInt((x[32 * j + ii] + dm) / d)));
        }
    }
}
