using System.Runtime.CompilerServices;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q5_KFormat
{
    /// <summary>ggml <c>quantize_row_q5_K_ref</c>: as Q4_K with 5-bit levels (16 candidate scales from −0.5 by 0.1);
    /// the fifth bit of each level goes to qh.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // long loops: skip tier-0 and OSR
    public static void Quantize(float* x, byte* y, long n)
    {
        byte* L = stackalloc byte[256];
        byte* Laux = stackalloc byte[32];
        float* weights = stackalloc float[32];
        float* mins = stackalloc float[8];
        float* scales = stackalloc float[8];

        for (long i = 0; i < n / 256; i++, x += 256, y += 176)
        {
            Q4_KFormat.SearchScalesMins(x, L, Laux, weights, scales, mins, 31, -0.5f, 0.1f, 15);
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < 8; ++j)
            {
                if (scales[j] > maxScale) maxScale = scales[j];
                if (mins[j] > maxMin) maxMin = mins[j];
            }
            KQuantScales.PackScalesMins(y, scales, mins, maxScale, maxMin);
            Q4_KFormat.RequantizeSubBlocks(x, y, L, 31);

            byte* qh = y + 16;   // qh[32]
            byte* ql = y + 48;   // qs[128]
            for (int j = 0; j < 32; ++j) qh[j] = 0;
            byte m1 = 1, m2 = 2;
            for (int k = 0; k < 256; k += 64, ql += 32)
            {
                for (int j = 0; j < 32; ++j)
                {
                    int l1 = L[k + j];
                    if (l1 > 15) { l1 -= 16; qh[j] |= m1; }
                    int l2 = L[k + j + 32];
                    if (l2 > 15) { l2 -= 16; qh[j] |= m2; }
                    ql[j] = (byte)(l1 | (l2 << 4));
                }
                m1 <<= 2;
                m2 <<= 2;
            }
        }
    }
}
