using System.Runtime.CompilerServices;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct F16Format
{
    /// <summary>ggml <c>ggml_fp32_to_fp16_row</c>: each value rounded to nearest even (see <see cref="Fp16.FromSingle"/>);
    /// values beyond ±65504 become ±inf, which llama-quantize's validation then rejects.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // long loops: skip tier-0 and OSR
    public static void Quantize(float* src, byte* dst, long n)
    {
        ushort* y = (ushort*)dst;
        for (long i = 0; i < n; i++) y[i] = Fp16.FromSingle(src[i]);
    }
}
