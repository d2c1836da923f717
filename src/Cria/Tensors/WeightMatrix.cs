namespace Cria.Tensors;

/// <summary>A weight matrix of <see cref="Rows"/> × <see cref="Cols"/> in its stored type, read in place from a
/// memory map: row r (one output feature) is <see cref="Cols"/> elements at <c>Data + r·RowBytes</c>.</summary>
public sealed unsafe class WeightMatrix
{
    public string Name { get; }
    public int Rows { get; }
    public int Cols { get; }
    public BlockKernels Kernels { get; }
    public byte* Data { get; }
    public long RowBytes { get; }

    public GgmlType Type => Kernels.Type;
    public long ByteSize => RowBytes * Rows;

    public WeightMatrix(string name, GgmlType type, int rows, int cols, byte* data)
    {
        Name = name;
        Kernels = BlockKernels.Get(type, name);
        if (cols % Kernels.BlockElements != 0)
            throw new ModelFormatException($"tensor '{name}' rows of {cols} elements are not whole {type} blocks of {Kernels.BlockElements}");
        Rows = rows;
        Cols = cols;
        Data = data;
        RowBytes = (long)cols / Kernels.BlockElements * Kernels.BlockBytes;
    }

    public byte* Row(int r) => Data + r * RowBytes;

    /// <summary>Dequantises row <paramref name="r"/> into <paramref name="destination"/> (Cols floats).</summary>
    public void DequantizeRow(int r, Span<float> destination)
    {
        if ((uint)r >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(r), $"row {r} is outside '{Name}' ({Rows} rows)");
        if (destination.Length < Cols) throw new ArgumentException("destination too short", nameof(destination));
        fixed (float* dst = destination) Kernels.Dequantize(Row(r), dst, Cols);
    }

    public override string ToString() => $"{Name} [{Rows} x {Cols}] {Type}";
}
