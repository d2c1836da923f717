using System.Runtime.CompilerServices;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct BF16Format
{
    /// <summary>ggml <c>ggml_fp32_to_bf16_row_ref</c>: each value through <see cref="FromSingle"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // long loops: skip tier-0 and OSR
    public static void Quantize(float* src, byte* dst, long n)
    {
        ushort* y = (ushort*)dst;
        for (long i = 0; i < n; i++) y[i] = FromSingle(src[i]);
    }

    /// <summary>ggml <c>ggml_compute_fp32_to_bf16</c>: the top 16 bits of the float rounded to nearest even (finite
    /// values near float's limit round to ±inf); a NaN keeps its sign and top payload bits and is made quiet.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromSingle(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7fffffffu) > 0x7f800000u) return (ushort)((u >> 16) | 64); // NaN: force the quiet bit
        return (ushort)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
    }
}
