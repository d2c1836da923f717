using Cria.Tensors;

namespace Cria.Quantization;

/// <summary>ggml's <c>ggml_validate_row_data</c> for the types Cria converts: every float32/fp16/bf16 element, and every
/// fp16 scale of a quantised block, must be finite. llama-quantize runs it on each input tensor as it loads it and on
/// each quantised result, and refuses the file otherwise.</summary>
public static unsafe class TensorDataValidator
{
    /// <summary>Offsets of the fp16 scale fields in one block (ggml-common.h), for the block types.</summary>
    private static int[]? ScaleOffsets(GgmlType type) => type switch
    {
        GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q8_0 => [0],
        GgmlType.Q4_1 or GgmlType.Q5_1 or GgmlType.Q4_K or GgmlType.Q5_K => [0, 2],
        GgmlType.Q2_K => [80, 82],
        GgmlType.Q3_K => [108],
        GgmlType.Q6_K => [208],
        _ => null,
    };

    /// <summary>The index of the first invalid element (F32, F16, BF16) or block (quantised types) in
    /// <paramref name="count"/> elements or blocks at <paramref name="data"/>, or −1 when all are valid. Types this
    /// validator does not know (integers, IQ types) count as valid.</summary>
    public static long FindInvalid(GgmlType type, byte* data, long count)
    {
        switch (type)
        {
            case GgmlType.F32:
                for (long i = 0; i < count; i++)
                    if (!float.IsFinite(((float*)data)[i])) return i;
                return -1;
            case GgmlType.F16:
                for (long i = 0; i < count; i++)
                    if ((((ushort*)data)[i] & 0x7C00) == 0x7C00) return i;
                return -1;
            case GgmlType.BF16:
                for (long i = 0; i < count; i++)
                    if ((((ushort*)data)[i] & 0x7F80) == 0x7F80) return i;
                return -1;
        }
        if (ScaleOffsets(type) is not { } offsets) return -1;
        int blockBytes = TensorTypeInfo.Get(type).BlockBytes;
        for (long b = 0; b < count; b++)
            foreach (int offset in offsets)
                if ((*(ushort*)(data + b * blockBytes + offset) & 0x7C00) == 0x7C00) return b;
        return -1;
    }

    /// <summary>Units <see cref="FindInvalid"/> counts in a run of <paramref name="elements"/> elements of <paramref name="type"/>.</summary>
    public static long Units(GgmlType type, long elements) => elements / TensorTypeInfo.Get(type).BlockElements;
}
