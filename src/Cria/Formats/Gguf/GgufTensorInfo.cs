using Cria.Tensors;

namespace Cria.Formats.Gguf;

/// <summary>A tensor as the GGUF header describes it. <see cref="Dimensions"/> are in ggml order:
/// the first is the row length (contiguous), e.g. a 4096-in, 11008-out matrix is [4096, 11008].</summary>
public sealed record GgufTensorInfo(string Name, long[] Dimensions, GgmlType Type, long Offset, long ByteSize)
{
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Dimensions) n *= d;
            return n;
        }
    }

    /// <summary>Dimensions written as a reader expects them in a listing, e.g. "4096 x 11008".</summary>
    public string ShapeText => string.Join(" x ", Dimensions);
}
