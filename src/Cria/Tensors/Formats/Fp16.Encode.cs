using System.Runtime.CompilerServices;

namespace Cria.Tensors.Formats;

internal static partial class Fp16
{
    /// <summary>float32 → IEEE binary16 bits exactly as ggml's <c>ggml_compute_fp32_to_fp16</c> (the <c>GGML_FP32_TO_FP16</c>
    /// of ggml-base, which quantisers use for every block scale): round to nearest even, overflow to ±inf, gradual
    /// underflow, and every NaN to the quiet NaN 0x7E00 with its sign (.NET's <c>(Half)</c> keeps NaN payload bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromSingle(float f)
    {
        float scaleToInf = BitConverter.UInt32BitsToSingle(0x77800000u);  // 2^112
        float scaleToZero = BitConverter.UInt32BitsToSingle(0x08800000u); // 2^-110
        // Rounds away the bits fp16 cannot hold and turns values beyond fp16's range into inf.
        float value = MathF.Abs(f) * scaleToInf * scaleToZero;

        uint w = BitConverter.SingleToUInt32Bits(f);
        uint shl1W = w + w;
        uint sign = w & 0x80000000u;
        uint bias = shl1W & 0xFF000000u;
        if (bias < 0x71000000u) bias = 0x71000000u;

        // Adding a power of two just above the value leaves exactly fp16's mantissa bits: the float adder rounds to even.
        value = BitConverter.UInt32BitsToSingle((bias >> 1) + 0x07800000u) + value;
        uint bits = BitConverter.SingleToUInt32Bits(value);
        uint expBits = (bits >> 13) & 0x00007C00u;
        uint mantissaBits = bits & 0x00000FFFu;
        uint nonsign = expBits + mantissaBits;
        return (ushort)((sign >> 16) | (shl1W > 0xFF000000u ? 0x7E00u : nonsign));
    }

    /// <summary>Writes <see cref="FromSingle"/> of <paramref name="f"/> little-endian at <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Store(byte* p, float f) => Unsafe.WriteUnaligned(p, FromSingle(f));
}
