using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
            SearchScalesMins(x, L, Laux, weights, scales, mins, 15, -1f, 0.1f, 20);
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < 8; ++j)
            {
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

    /// <summary>The search that Q4_K and Q5_K share: each 32-element sub-block of the super-block at <paramref name="x"/>
    /// gets levels L, a scale and a min from <c>make_qkx2_quants</c> with weights rms(sub-block) + |x| — eight sub-blocks
    /// at once in <see cref="QuantLanes"/> where 256-bit vectors run, else one at a time; the bits are the same.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    internal static void SearchScalesMins(float* x, byte* L, byte* Laux, float* weights, float* scales, float* mins,
        int nmax, float rmin, float rdelta, int nstep)
    {
        if (QuantLanes.Enabled)
        {
            Vector256<float>* xt = stackalloc Vector256<float>[32];
            Vector256<float>* wt = stackalloc Vector256<float>[32];
            Vector256<int>* levels = stackalloc Vector256<int>[32];
            Vector256<int>* aux = stackalloc Vector256<int>[32];
            QuantLanes.Transpose(x, 32, 0, xt);
            var sumX2 = Vector256<float>.Zero;
            for (int l = 0; l < 32; ++l) sumX2 += xt[l] * xt[l];
            var avX = Vector256.Sqrt(sumX2 / Vector256.Create(32f));
            for (int l = 0; l < 32; ++l) wt[l] = avX + Vector256.Abs(xt[l]);
            var scale = QuantLanes.MakeQkx2Quants(32, nmax, xt, wt, levels, out var min, aux, rmin, rdelta, nstep, false);
            scale.Store(scales);
            min.Store(mins);
            QuantLanes.Untranspose(levels, 32, 0, L);
            return;
        }
        for (int j = 0; j < 8; ++j)
        {
            float sumX2 = 0;
            for (int l = 0; l < 32; ++l) sumX2 += x[32 * j + l] * x[32 * j + l];
            float avX = MathF.Sqrt(sumX2 / 32);
            for (int l = 0; l < 32; ++l) weights[l] = avX + MathF.Abs(x[32 * j + l]);
            scales[j] = QuantMath.MakeQkx2Quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, rdelta, nstep, false);
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
            QuantLanes.RoundToLevels(x + 32 * j, 32, true, dm, d, 0, nmax, 0, L + 32 * j);
        }
    }
}
