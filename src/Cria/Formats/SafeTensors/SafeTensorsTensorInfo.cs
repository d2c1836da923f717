namespace Cria.Formats.SafeTensors;

/// <summary>One tensor of a safetensors header: its name, dtype, shape (outermost first, C order, as PyTorch prints it)
/// and the byte range [<see cref="Begin"/>, <see cref="End"/>) of its data, relative to the end of the header.</summary>
public sealed record SafeTensorsTensorInfo(string Name, SafeTensorsDType DType, long[] Shape, long Begin, long End)
{
    /// <summary>Bytes of data (End − Begin).</summary>
    public long ByteSize => End - Begin;

    /// <summary>The product of the shape (1 for a scalar); the header check guarantees it does not overflow.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The shape as PyTorch prints it, e.g. "512 x 64".</summary>
    public string ShapeText => Shape.Length == 0 ? "scalar" : string.Join(" x ", Shape);

    public override string ToString() => $"{Name} [{ShapeText}] {DType}";
}
