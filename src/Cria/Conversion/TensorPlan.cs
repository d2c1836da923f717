using Cria.Tensors;

namespace Cria.Conversion;

/// <summary>Writes row <paramref name="row"/> of a tensor as floats into <paramref name="destination"/> (Cols long).</summary>
public delegate void FloatRowSource(int row, Span<float> destination);

/// <summary>Writes row <paramref name="row"/>'s stored bytes into <paramref name="destination"/>, when the output keeps the
/// source's type and row order (a plain copy, no rounding).</summary>
public delegate void RawRowSource(int row, Span<byte> destination);

/// <summary>One tensor to write: its output name, dimensions (ggml order), output type and where its rows come from.</summary>
public sealed record TensorPlan(string Name, long[] Dimensions, GgmlType Type, FloatRowSource Rows, RawRowSource? RawRows = null)
{
    public int Cols => (int)Dimensions[0];
    public int RowCount => (int)Dimensions.Skip(1).Aggregate(1L, (a, b) => a * b);
    public long ByteSize => TensorTypeInfo.Get(Type).RowBytes(Cols) * RowCount;
}
