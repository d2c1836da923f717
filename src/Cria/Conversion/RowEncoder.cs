using Cria.Tensors;

namespace Cria.Conversion;

/// <summary>Turns a row of floats into the bytes of a stored type with the type's quantiser (F16/BF16 rounding to
/// nearest even, block types as llama-quantize does without an importance matrix).</summary>
public static unsafe class RowEncoder
{
    /// <summary>True if rows can be written in <paramref name="type"/>.</summary>
    public static bool CanEncode(GgmlType type) => BlockKernels.TryGet(type, out var k) && k.Quantize != null;

    public static void Encode(GgmlType type, ReadOnlySpan<float> row, Span<byte> destination)
    {
        var kernels = BlockKernels.Get(type, "output");
        if (destination.Length < kernels.BlockBytes * (row.Length / kernels.BlockElements))
            throw new ArgumentException("destination too short", nameof(destination));
        fixed (float* src = row)
        fixed (byte* dst = destination)
            kernels.Quantize(src, dst, row.Length);
    }
}
