using System.Runtime.InteropServices;
using Cria.Tensors;

namespace Cria.Conversion;

/// <summary>Turns a row of floats into the bytes of a stored type: F32, F16 and BF16 with round-to-nearest-even as
/// ggml does, block types through their quantiser.</summary>
public static class RowEncoder
{
    /// <summary>True if rows can be written in <paramref name="type"/>.</summary>
    public static bool CanEncode(GgmlType type) => type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 || Quantizers.CanQuantize(type);

    public static void Encode(GgmlType type, ReadOnlySpan<float> row, Span<byte> destination)
    {
        switch (type)
        {
            case GgmlType.F32:
                MemoryMarshal.AsBytes(row).CopyTo(destination);
                break;
            case GgmlType.F16:
                var halves = MemoryMarshal.Cast<byte, ushort>(destination);
                for (int i = 0; i < row.Length; i++) halves[i] = BitConverter.HalfToUInt16Bits((Half)row[i]); // IEEE RNE, as F16C
                break;
            case GgmlType.BF16:
                var brains = MemoryMarshal.Cast<byte, ushort>(destination);
                for (int i = 0; i < row.Length; i++) brains[i] = ToBFloat16(row[i]);
                break;
            default:
                Quantizers.Quantize(type, row, destination);
                break;
        }
    }

    /// <summary>ggml_compute_fp32_to_bf16: round to nearest even; a NaN stays a (quiet) NaN.</summary>
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) return (ushort)((bits >> 16) | 64);
        return (ushort)((bits + (0x7fff + ((bits >> 16) & 1))) >> 16);
    }
}
