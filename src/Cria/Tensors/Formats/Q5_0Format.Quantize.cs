using System.Runtime.CompilerServices;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q5_0Format
{
    /// <summary>ggml <c>quantize_row_q5_0_ref</c>: d = (the value of largest magnitude) / −16,
    /// q = min(31, (int8)(x/d + 16.5)); the low 4 bits go to qs, the fifth to bit j of qh.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // long loops: skip tier-0 and OSR
    public static void Quantize(float* x, byte* y, long n)
    {
        for (long i = 0; i < n / 32; i++, x += 32, y += 22)
        {
            float amax = 0, max = 0;
            for (int j = 0; j < 32; j++)
            {
                float v = x[j];
                if (amax < MathF.Abs(v)) { amax = MathF.Abs(v); max = v; }
            }
            float d = max / -16;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Fp16.Store(y, d);
            uint qh = 0;
            byte* qs = y + 6;
            for (int j = 0; j < 16; j++)
            {
                byte xi0 = (byte)Math.Min(31, QuantMath.TruncateToInt8(x[j] * id + 16.5f));
                byte xi1 = (byte)Math.Min(31, QuantMath.TruncateToInt8(x[16 + j] * id + 16.5f));
                qs[j] = (byte)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
                qh |= ((xi0 & 0x10u) >> 4) << j;
                qh |= ((xi1 & 0x10u) >> 4) << (j + 16);
            }
            System.Runtime.CompilerServices.Unsafe.WriteUnaligned(y + 2, qh); // memcpy in ggml: native (little-endian) order
        }
    }
}
