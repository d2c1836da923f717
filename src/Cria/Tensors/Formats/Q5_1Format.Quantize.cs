using System.Runtime.CompilerServices;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q5_1Format
{
    /// <summary>ggml <c>quantize_row_q5_1_ref</c>: m = min, d = (max − min) / 31, q = (uint8)((x − m)/d + 0.5);
    /// the low 4 bits go to qs, the fifth to bit j of qh.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // long loops: skip tier-0 and OSR
    public static void Quantize(float* x, byte* y, long n)
    {
        for (long i = 0; i < n / 32; i++, x += 32, y += 24)
        {
            float min = float.MaxValue, max = -float.MaxValue;
            for (int j = 0; j < 32; j++)
            {
                float v = x[j];
                if (v < min) min = v;
                if (v > max) max = v;
            }
            float d = (max - min) / ((1 << 5) - 1);
            float id = d != 0 ? 1.0f / d : 0.0f;
            Fp16.Store(y, d);
            Fp16.Store(y + 2, min);
            uint qh = 0;
            byte* qs = y + 8;
            for (int j = 0; j < 16; j++)
            {
                byte xi0 = (byte)QuantMath.TruncateToInt((x[j] - min) * id + 0.5f);
                byte xi1 = (byte)QuantMath.TruncateToInt((x[16 + j] - min) * id + 0.5f);
                qs[j] = (byte)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
                qh |= ((xi0 & 0x10u) >> 4) << j;
                qh |= ((xi1 & 0x10u) >> 4) << (j + 16);
            }
            System.Runtime.CompilerServices.Unsafe.WriteUnaligned(y + 4, qh);
        }
    }
}
