namespace Cria.Tensors;

/// <summary>A rectangle of a matrix's data in memory: rows [RowStart, RowStart + Rows) × columns [ColStart,
/// ColStart + Cols), stored row-major with <see cref="RowStride"/> bytes from one row to the next. A tensor split
/// across model-parallel shards is several parts, each read in place from its own file.</summary>
public readonly unsafe struct TensorPart(int rowStart, int rows, int colStart, int cols, byte* data, long rowStride)
{
    public int RowStart { get; } = rowStart;
    public int Rows { get; } = rows;
    public int ColStart { get; } = colStart;
    public int Cols { get; } = cols;
    public byte* Data { get; } = data;
    public long RowStride { get; } = rowStride;

    public byte* Row(int row) => Data + (long)(row - RowStart) * RowStride;
}
