using System.Runtime.CompilerServices;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q8_0Format
{
    /// <summary>ggml <c>quantize_row_q8_0_ref</c>: d = max|x| / 127, qs = round(x / d) (halves away from zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // long loops: skip tier-0 and OSR
    public static void Quantize(float* x, byte* y, long n)
    {
        for (long i = 0; i < n / 32; i++, x += 32, y += 34)
        {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = QuantMath.MaxMacro(amax, MathF.Abs(x[j]));
            float d = amax / ((1 << 7) - 1);
            float id = d != 0 ? 1.0f / d : 0.0f;
            Fp16.Store(y, d);
            sbyte* qs = (sbyte*)(y + 2);
            for (int j = 0; j < 32; j++)
                qs[j] = (sbyte)QuantMath.TruncateToInt(MathF.Round(x[j] * id, MidpointRounding.AwayFromZero));
        }
    }
}
