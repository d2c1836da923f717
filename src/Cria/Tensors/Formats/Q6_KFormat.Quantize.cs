using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q6_KFormat
{
    /// <summary>ggml <c>quantize_row_q6_K_ref</c>: each 16-element sub-block gets a signed scale from
    /// <c>make_qx_quants</c> (nmax 32, x² weights); the scales become int8 against the one of largest magnitude
    /// (d = that scale / −128), then every element is re-rounded to 6 bits (low 4 in ql, high 2 in qh).
    /// An all-zero super-block is all zero bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // long loops: skip tier-0 and OSR
    public static void Quantize(float* x, byte* y, long n)
    {
        sbyte* L = stackalloc sbyte[256];
        float* scales = stackalloc float[16];

        for (long i = 0; i < n / 256; i++, x += 256, y += 210)
        {
            if (QuantLanes.Enabled) SearchLanes(x, (byte*)L, scales);
            else
                for (int ib = 0; ib < 16; ++ib) scales[ib] = QuantMath.MakeQxQuants(16, 32, x + 16 * ib, L + 16 * ib);
            float maxScale = 0, maxAbsScale = 0;
            for (int ib = 0; ib < 16; ++ib)
            {
                float scale = scales[ib];
                float absScale = MathF.Abs(scale);
                if (absScale > maxAbsScale)
                {
                    maxAbsScale = absScale;
                    maxScale = scale;
                }
            }

            if (maxAbsScale < QuantMath.GroupMaxEps)
            {
                new Span<byte>(y, 210).Clear();
                Fp16.Store(y + 208, 0f);
                continue;
            }

            sbyte* sc = (sbyte*)(y + 192);
            float iscale = -128f / maxScale;
            Fp16.Store(y + 208, 1 / iscale);
            for (int ib = 0; ib < 16; ++ib) sc[ib] = (sbyte)Math.Min(127, QuantMath.NearestInt(iscale * scales[ib]));

            for (int j = 0; j < 16; ++j)
            {
                float d = Fp16.Load(y + 208) * sc[j];
                if (d == 0) continue;
                QuantLanes.RoundToLevels(x + 16 * j, 16, false, 0, d, -32, 31, 32, (byte*)L + 16 * j);
            }

            byte* ql = y;
            byte* qh = y + 128;
            for (int j = 0; j < 256; j += 128, ql += 64, qh += 32)
                for (int l = 0; l < 32; ++l)
                {
                    int q1 = L[j + l] & 0xF;
                    int q2 = L[j + l + 32] & 0xF;
                    int q3 = L[j + l + 64] & 0xF;
                    int q4 = L[j + l + 96] & 0xF;
                    ql[l] = (byte)(q1 | (q3 << 4));
                    ql[l + 32] = (byte)(q2 | (q4 << 4));
                    qh[l] = (byte)((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
                }
        }
    }

    // The sixteen make_qx_quants searches, eight sub-blocks at a time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    private static void SearchLanes(float* x, byte* L, float* scales)
    {
        Vector256<float>* xt = stackalloc Vector256<float>[16];
        Vector256<int>* levels = stackalloc Vector256<int>[16];
        Vector256<int>* aux = stackalloc Vector256<int>[16];
        for (int first = 0; first < 16; first += 8)
        {
            QuantLanes.Transpose(x, 16, first, xt);
            QuantLanes.MakeQxQuants(16, 32, xt, levels, aux).Store(scales + first);
            QuantLanes.Untranspose(levels, 16, first, L);
        }
    }
}
