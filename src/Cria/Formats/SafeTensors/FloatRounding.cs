using System.Runtime.Intrinsics;

namespace Cria.Formats.SafeTensors;

/// <summary>float32 → bfloat16 / float16 with round-to-nearest-even, as PyTorch's <c>.to(torch.bfloat16)</c> and
/// ggml's <c>ggml_compute_fp32_to_bf16</c> do: add 0x7FFF plus the lowest kept bit, then keep the top 16 bits.
/// NaN stays NaN (quietened, sign kept, as ggml does), rather than being rounded into infinity.</summary>
public static class FloatRounding
{
    /// <summary>The bfloat16 bits nearest to <paramref name="value"/> (ties to even).</summary>
    public static ushort ToBF16(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if ((u & 0x7FFF_FFFF) > 0x7F80_0000) return (ushort)((u >> 16) | 0x40);
        return (ushort)((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
    }

    /// <summary>The float16 bits nearest to <paramref name="value"/> (ties to even; overflow gives infinity).</summary>
    public static ushort ToF16(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    /// <summary>Rounds every value of <paramref name="source"/> to bfloat16 bits in <paramref name="destination"/>.</summary>
    public static void ToBF16(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (destination.Length < source.Length) throw new ArgumentException("destination too short", nameof(destination));
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var bits = System.Runtime.InteropServices.MemoryMarshal.Cast<float, uint>(source);
            var one = Vector256.Create(1u);
            var bias = Vector256.Create(0x7FFFu);
            var magnitude = Vector256.Create(0x7FFF_FFFFu);
            var infinity = Vector256.Create(0x7F80_0000u);
            var quiet = Vector256.Create(0x40u);
            for (; i + 16 <= source.Length; i += 16)
            {
                var lo = Round(Vector256.Create(bits.Slice(i, 8)));
                var hi = Round(Vector256.Create(bits.Slice(i + 8, 8)));
                Vector256.Narrow(lo, hi).CopyTo(destination.Slice(i, 16));
            }

            Vector256<uint> Round(Vector256<uint> u)
            {
                var rounded = Vector256.ShiftRightLogical(u + bias + (Vector256.ShiftRightLogical(u, 16) & one), 16);
                var nan = Vector256.GreaterThan(u & magnitude, infinity);
                return Vector256.ConditionalSelect(nan, Vector256.ShiftRightLogical(u, 16) | quiet, rounded);
            }
        }
        for (; i < source.Length; i++) destination[i] = ToBF16(source[i]);
    }

    /// <summary>Rounds every value of <paramref name="source"/> to float16 bits in <paramref name="destination"/>.</summary>
    public static void ToF16(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (destination.Length < source.Length) throw new ArgumentException("destination too short", nameof(destination));
        for (int i = 0; i < source.Length; i++) destination[i] = ToF16(source[i]);
    }
}
