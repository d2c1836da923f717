using System.Runtime.CompilerServices;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q4_0Format
{
    /// <summary>ggml <c>quantize_row_q4_0_ref</c>: d = (the value of largest magnitude) / −8, so that value maps
    /// exactly to level 0; q = min(15, (int8)(x/d + 8.5)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // long loops: skip tier-0 and OSR
    public static void Quantize(float* x, byte* y, long n)
    {
        for (long i = 0; i < n / 32; i++, x += 32, y += 18)
        {
            float amax = 0, max = 0;
            for (int j = 0; j < 32; j++)
            {
                float v = x[j];
                if (amax < MathF.Abs(v)) { amax = MathF.Abs(v); max = v; }
            }
            float d = max / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Fp16.Store(y, d);
            byte* qs = y + 2;
            for (int j = 0; j < 16; j++)
            {
                int xi0 = Math.Min(15, QuantMath.TruncateToInt8(x[j] * id + 8.5f));
                int xi1 = Math.Min(15, QuantMath.TruncateToInt8(x[16 + j] * id + 8.5f));
                qs[j] = (byte)((byte)xi0 | ((byte)xi1 << 4));
            }
        }
    }
}
