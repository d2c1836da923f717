using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q3_KFormat
{
    /// <summary>ggml <c>quantize_row_q3_K_ref</c>: each 16-element sub-block gets a signed scale from
    /// <c>make_q3_quants</c>; the scales are quantised to 6 bits against the one of largest magnitude, then every
    /// element is re-rounded to 3 bits (low 2 bits in qs, the third in hmask).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // long loops: skip tier-0 and OSR
    public static void Quantize(float* x, byte* y, long n)
    {
        sbyte* L = stackalloc sbyte[256];
        float* scales = stackalloc float[16];

        for (long i = 0; i < n / 256; i++, x += 256, y += 110)
        {
            byte* hmask = y;       // hmask[32]
            byte* qs = y + 32;     // qs[64]
            byte* sc = y + 96;     // scales[12]
            if (QuantLanes.Enabled) SearchLanes(x, (byte*)L, scales);
            else
                for (int j = 0; j < 16; ++j) scales[j] = QuantMath.MakeQ3Quants(16, 4, x + 16 * j, L + 16 * j);
            float maxScale = 0, amax = 0;
            for (int j = 0; j < 16; ++j)
            {
                float scale = MathF.Abs(scales[j]);
                if (scale > amax) { amax = scale; maxScale = scales[j]; }
            }

            for (int j = 0; j < 12; ++j) sc[j] = 0;
            if (maxScale != 0)
            {
                float iscale = -32f / maxScale;
                for (int j = 0; j < 16; ++j)
                {
                    sbyte l8 = (sbyte)QuantMath.NearestInt(iscale * scales[j]);
                    int l = Math.Max(-32, Math.Min(31, (int)l8)) + 32;
                    if (j < 8) sc[j] = (byte)(l & 0xF);
                    else sc[j - 8] |= (byte)((l & 0xF) << 4);
                    l >>= 4;
                    sc[j % 4 + 8] |= (byte)(l << (2 * (j / 4)));
                }
                Fp16.Store(y + 108, 1 / iscale);
            }
            else
            {
                Fp16.Store(y + 108, 0f);
            }

            for (int j = 0; j < 16; ++j)
            {
                int s = j < 8 ? sc[j] & 0xF : sc[j - 8] >> 4;
                s = (sbyte)((s | (((sc[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32);
                float d = Fp16.Load(y + 108) * s;
                if (d == 0) continue;
                QuantLanes.RoundToLevels(x + 16 * j, 16, false, 0, d, -4, 3, 4, (byte*)L + 16 * j);
            }

            for (int j = 0; j < 32; ++j) hmask[j] = 0;
            // The high bit of the first 32 elements goes to bit 0 of hmask[0..31], the next 32 to bit 1, and so on.
            int m = 0;
            byte hm = 1;
            for (int j = 0; j < 256; ++j)
            {
                if (L[j] > 3)
                {
                    hmask[m] |= hm;
                    L[j] -= 4;
                }
                if (++m == 32)
                {
                    m = 0;
                    hm <<= 1;
                }
            }
            for (int j = 0; j < 256; j += 128)
                for (int l = 0; l < 32; ++l)
                    qs[j / 4 + l] = (byte)((int)L[j + l] | ((int)L[j + l + 32] << 2) | ((int)L[j + l + 64] << 4) | ((int)L[j + l + 96] << 6));
        }
    }

    // The sixteen make_q3_quants searches, eight sub-blocks at a time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    private static void SearchLanes(float* x, byte* L, float* scales)
    {
        Vector256<float>* xt = stackalloc Vector256<float>[16];
        Vector256<int>* levels = stackalloc Vector256<int>[16];
        for (int first = 0; first < 16; first += 8)
        {
            QuantLanes.Transpose(x, 16, first, xt);
            QuantLanes.MakeQ3Quants(16, 4, xt, levels).Store(scales + first);
            QuantLanes.Untranspose(levels, 16, first, L);
        }
    }
}
