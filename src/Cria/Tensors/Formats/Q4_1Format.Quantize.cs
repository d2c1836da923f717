using System.Runtime.CompilerServices;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q4_1Format
{
    /// <summary>ggml <c>quantize_row_q4_1_ref</c>: m = min, d = (max − min) / 15, q = min(15, (int8)((x − m)/d + 0.5)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // long loops: skip tier-0 and OSR
    public static void Quantize(float* x, byte* y, long n)
    {
        for (long i = 0; i < n / 32; i++, x += 32, y += 20)
        {
            float min = float.MaxValue, max = -float.MaxValue;
            for (int j = 0; j < 32; j++)
            {
                float v = x[j];
                if (v < min) min = v;
                if (v > max) max = v;
            }
            float d = (max - min) / ((1 << 4) - 1);
            float id = d != 0 ? 1.0f / d : 0.0f;
            Fp16.Store(y, d);
            Fp16.Store(y + 2, min);
            byte* qs = y + 4;
            for (int j = 0; j < 16; j++)
            {
                int xi0 = Math.Min(15, QuantMath.TruncateToInt8((x[j] - min) * id + 0.5f));
                int xi1 = Math.Min(15, QuantMath.TruncateToInt8((x[16 + j] - min) * id + 0.5f));
                qs[j] = (byte)((byte)xi0 | ((byte)xi1 << 4));
            }
        }
    }
}
