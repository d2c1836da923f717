using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q2_KFormat
{
    /// <summary>ggml <c>quantize_row_q2_K_ref</c>: each 16-element sub-block gets a scale and a min from
    /// <c>make_qkx2_quants</c> (|x| weights, mean absolute error); both are quantised to 4 bits against the block's
    /// largest, then every element is re-rounded to 2 bits with the stored scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // long loops: skip tier-0 and OSR
    public static void Quantize(float* x, byte* y, long n)
    {
        byte* L = stackalloc byte[256];
        byte* Laux = stackalloc byte[16];
        float* weights = stackalloc float[16];
        float* mins = stackalloc float[16];
        float* scales = stackalloc float[16];
        const float q4scale = 15f;

        for (long i = 0; i < n / 256; i++, x += 256, y += 84)
        {
            byte* sc = y;       // scales[16]: low nibble scale, high nibble min
            byte* qs = y + 16;  // qs[64]
            if (QuantLanes.Enabled) SearchLanes(x, L, scales, mins);
            else
                for (int j = 0; j < 16; ++j)
                {
                    for (int l = 0; l < 16; ++l) weights[l] = MathF.Abs(x[16 * j + l]);
                    scales[j] = QuantMath.MakeQkx2Quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
                }
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < 16; ++j)
            {
                if (scales[j] > maxScale) maxScale = scales[j];
                if (mins[j] > maxMin) maxMin = mins[j];
            }

            if (maxScale > 0)
            {
                float iscale = q4scale / maxScale;
                for (int j = 0; j < 16; ++j) sc[j] = (byte)QuantMath.NearestInt(iscale * scales[j]);
                Fp16.Store(y + 80, maxScale / q4scale);
            }
            else
            {
                for (int j = 0; j < 16; ++j) sc[j] = 0;
                Fp16.Store(y + 80, 0f);
            }
            if (maxMin > 0)
            {
                float iscale = q4scale / maxMin;
                for (int j = 0; j < 16; ++j) sc[j] |= (byte)(QuantMath.NearestInt(iscale * mins[j]) << 4);
                Fp16.Store(y + 82, maxMin / q4scale);
            }
            else
            {
                Fp16.Store(y + 82, 0f);
            }

            for (int j = 0; j < 16; ++j)
            {
                float d = Fp16.Load(y + 80) * (sc[j] & 0xF);
                if (d == 0) continue;
                float dm = Fp16.Load(y + 82) * (sc[j] >> 4);
                QuantLanes.RoundToLevels(x + 16 * j, 16, true, dm, d, 0, 3, 0, L + 16 * j);
            }

            for (int j = 0; j < 256; j += 128)
                for (int l = 0; l < 32; ++l)
                    qs[j / 4 + l] = (byte)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
        }
    }

    // The sixteen make_qkx2_quants searches (weights |x|, mean absolute error), eight sub-blocks at a time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    private static void SearchLanes(float* x, byte* L, float* scales, float* mins)
    {
        Vector256<float>* xt = stackalloc Vector256<float>[16];
        Vector256<float>* wt = stackalloc Vector256<float>[16];
        Vector256<int>* levels = stackalloc Vector256<int>[16];
        Vector256<int>* aux = stackalloc Vector256<int>[16];
        for (int first = 0; first < 16; first += 8)
        {
            QuantLanes.Transpose(x, 16, first, xt);
            for (int l = 0; l < 16; ++l) wt[l] = Vector256.Abs(xt[l]);
            var scale = QuantLanes.MakeQkx2Quants(16, 3, xt, wt, levels, out var min, aux, -0.5f, 0.1f, 15, true);
            scale.Store(scales + first);
            min.Store(mins + first);
            QuantLanes.Untranspose(levels, 16, first, L);
        }
    }
}
