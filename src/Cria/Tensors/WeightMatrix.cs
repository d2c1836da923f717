using Cria.Tensors.Interleaved;

namespace Cria.Tensors;

/// <summary>A weight matrix of <see cref="Rows"/> × <see cref="Cols"/> in its stored type, read in place: row r (one
/// output feature) is Cols elements. Usually one contiguous block (<see cref="Data"/>); a model-parallel checkpoint's
/// matrix is several parts, and a row's dot product is then the sum over the parts that hold pieces of it.</summary>
public sealed unsafe class WeightMatrix
{
    public TensorData Tensor { get; }
    public string Name => Tensor.Name;
    public int Rows => Tensor.Rows;
    public int Cols => Tensor.Cols;
    public BlockKernels Kernels { get; }
    public GgmlType Type => Kernels.Type;
    public long RowBytes => Tensor.RowBytes;
    public long ByteSize => Tensor.ByteSize;
    public bool IsContiguous { get; }
    /// <summary>The first row when <see cref="IsContiguous"/>; otherwise null (use the parts).</summary>
    public byte* Data { get; }
    public ReadOnlySpan<TensorPart> Parts => Tensor.PartSpan;
    /// <summary>Set when the rows were repacked at load into groups (<see cref="InterleavedLayout"/>): the data is then
    /// no longer row after row, and <see cref="Row"/> must not be used.</summary>
    public InterleavedLayout? Interleaved { get; }

    public WeightMatrix(TensorData tensor)
    {
        if (tensor.Dimensions.Length != 2) throw new ModelFormatException($"tensor '{tensor.SourceName}' should be a matrix but has shape {tensor.ShapeText}");
        Tensor = tensor;
        Kernels = BlockKernels.Get(tensor.Type, tensor.SourceName);
        IsContiguous = tensor.IsContiguous;
        Data = IsContiguous ? tensor.Parts[0].Data : null;
    }

    /// <summary>A matrix whose contiguous data is already in <paramref name="interleaved"/> layout.</summary>
    public WeightMatrix(TensorData tensor, InterleavedLayout interleaved) : this(tensor)
    {
        if (!IsContiguous || tensor.Type != interleaved.Type || Rows % interleaved.GroupRows != 0)
            throw new ArgumentException($"'{tensor.Name}' ({tensor.Type}, {Rows} rows) cannot be in {interleaved.Name} layout", nameof(interleaved));
        Interleaved = interleaved;
    }

    /// <summary>A contiguous matrix at <paramref name="data"/> (rows × cols, ggml order [cols, rows]).</summary>
    public WeightMatrix(string name, GgmlType type, int rows, int cols, byte* data)
        : this(TensorData.Contiguous(name, name, type, [cols, rows], data))
    {
    }

    /// <summary>Row <paramref name="r"/> of a contiguous matrix.</summary>
    public byte* Row(int r) => Data + r * RowBytes;

    /// <summary>Dequantises row <paramref name="r"/> into <paramref name="destination"/> (Cols floats).</summary>
    public void DequantizeRow(int r, Span<float> destination)
    {
        if (Interleaved == null)
        {
            Tensor.DequantizeRow(r, destination);
            return;
        }
        if ((uint)r >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(r), $"row {r} of '{Name}' ({Rows} rows)");
        if (destination.Length < Cols) throw new ArgumentException("destination too short", nameof(destination));
        fixed (float* dst = destination) Interleaved.DequantizeRow(Data, RowBytes, r, Cols, dst);
    }

    public override string ToString() => $"{Name} [{Rows} x {Cols}] {Type}{(Interleaved != null ? $" as {Interleaved.Name}" : "")}";
}
