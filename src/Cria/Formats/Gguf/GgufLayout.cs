using Cria.Tensors;

namespace Cria.Formats.Gguf;

/// <summary>Rules of the GGUF layout that the reader and the writer share, so the writer never produces a file
/// the reader would refuse.</summary>
internal static class GgufLayout
{
    public const string AlignmentKey = "general.alignment";
    public const int DefaultAlignment = 32;
    public const uint MaxAlignment = 1 << 20;     // larger is legal in principle but only ever seen in hostile files
    public const int MaxDimensions = 4;           // GGML_MAX_DIMS
    public const ulong MaxDimension = int.MaxValue * 64UL; // no real dimension comes near; bigger ones are corruption
    public const int MaxArrayNesting = 8;         // arrays of arrays deeper than this are hostile, not useful
    public const int MaxTensorNameBytes = 63;     // GGML_MAX_NAME (64) minus the C string terminator

    public static long AlignUp(long value, long alignment) => (value + alignment - 1) / alignment * alignment;

    public static bool IsValidAlignment(uint a) => a != 0 && a <= MaxAlignment && (a & (a - 1)) == 0;

    /// <summary>Computes a tensor's byte size; returns why it cannot exist (element count or size overflow,
    /// rows that are not whole blocks), or null when it is fine.</summary>
    public static string? ByteSizeError(ReadOnlySpan<long> dims, TensorTypeInfo type, out long byteSize)
    {
        byteSize = 0;
        long elements = 1;
        foreach (long d in dims)
        {
            if (d < 0) return $"dimension {d} is negative";
            if (d != 0 && elements > long.MaxValue / d) return "the element count overflows a 64-bit integer";
            elements *= d;
        }
        if (dims.Length > 0 && dims[0] % type.BlockElements != 0)
            return $"rows of {dims[0]} elements are not a whole number of {type.Name} blocks ({type.BlockElements})";
        long blocks = elements / type.BlockElements;
        if (blocks > long.MaxValue / type.BlockBytes) return "the byte size overflows a 64-bit integer";
        byteSize = blocks * type.BlockBytes;
        return null;
    }

    /// <summary>The fewest bytes one array item of <paramref name="type"/> can take; 0 for an unknown type.</summary>
    public static long MinEncodedSize(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 or GgufValueType.String => 8,
        GgufValueType.Array => 12, // element type + count
        _ => 0,
    };
}
