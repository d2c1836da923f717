namespace Cria.Tensors;

/// <summary>A named tensor of a checkpoint in its stored type, seen as a matrix of <see cref="Rows"/> ×
/// <see cref="Cols"/> (Cols = the first, contiguous ggml dimension; Rows = the product of the others). Its data is
/// one contiguous part or several (shards), always in place in memory maps.</summary>
public sealed unsafe class TensorData
{
    /// <summary>The name in GGUF (llama.cpp) naming, e.g. <c>blk.0.attn_q.weight</c>, whatever the file calls it.</summary>
    public string Name { get; }
    /// <summary>The name in the file the tensor came from (e.g. <c>layers.0.attention.wq.weight</c>).</summary>
    public string SourceName { get; }
    public GgmlType Type { get; }
    /// <summary>Dimensions in ggml order: the row length first.</summary>
    public long[] Dimensions { get; }
    public int Cols { get; }
    public int Rows { get; }
    public IReadOnlyList<TensorPart> Parts => _parts;
    private readonly TensorPart[] _parts; // an array, so per-token loops over it allocate no enumerator
    private readonly BlockKernels _kernels;
    public TensorTypeInfo TypeInfo { get; }

    public long RowBytes => TypeInfo.RowBytes(Cols);
    public long ByteSize => RowBytes * Rows;
    public long ElementCount => (long)Rows * Cols;
    /// <summary>True when the data is one block of rows back to back (no shards, no gaps).</summary>
    public bool IsContiguous => _parts.Length == 1 && _parts[0].RowStride == RowBytes;

    /// <summary>The parts as an array, for kernels that loop over them per row.</summary>
    internal ReadOnlySpan<TensorPart> PartSpan => _parts;

    public TensorData(string name, string sourceName, GgmlType type, long[] dimensions, IReadOnlyList<TensorPart> parts)
    {
        Name = name;
        SourceName = sourceName;
        Type = type;
        Dimensions = dimensions;
        TypeInfo = TensorTypeInfo.Get(type);
        if (dimensions.Length == 0) throw new ModelFormatException($"tensor '{sourceName}' has no dimensions");
        long rows = 1;
        foreach (long d in dimensions.Skip(1)) rows *= d;
        if (dimensions[0] > int.MaxValue || rows > int.MaxValue)
            throw new ModelFormatException($"tensor '{sourceName}' ({string.Join(" x ", dimensions)}) is larger than Cria supports");
        Cols = (int)dimensions[0];
        Rows = (int)rows;
        if (Cols % TypeInfo.BlockElements != 0)
            throw new ModelFormatException($"tensor '{sourceName}' rows of {Cols} elements are not whole {TypeInfo.Name} blocks of {TypeInfo.BlockElements}");
        _parts = parts.OrderBy(p => p.ColStart).ThenBy(p => p.RowStart).ToArray(); // column 0 first: it assigns, the rest add
        BlockKernels.TryGet(type, out _kernels);
        CheckTiling();
    }

    /// <summary>A tensor stored as one contiguous block at <paramref name="data"/>.</summary>
    public static TensorData Contiguous(string name, string sourceName, GgmlType type, long[] dimensions, byte* data)
    {
        var info = TensorTypeInfo.Get(type);
        long rows = 1;
        foreach (long d in dimensions.Skip(1)) rows *= d;
        int cols = (int)Math.Min(dimensions[0], int.MaxValue);
        return new TensorData(name, sourceName, type, dimensions, [new TensorPart(0, (int)Math.Min(rows, int.MaxValue), 0, cols, data, info.RowBytes(cols))]);
    }

    // Every element must be covered by exactly one part, and column splits must fall on block boundaries.
    private void CheckTiling()
    {
        long covered = 0;
        foreach (var p in _parts)
        {
            if (p.Rows <= 0 || p.Cols <= 0 || p.RowStart < 0 || p.ColStart < 0 || p.RowStart + p.Rows > Rows || p.ColStart + p.Cols > Cols)
                throw new ModelFormatException($"tensor '{SourceName}': a part ({p.Rows} x {p.Cols} at {p.RowStart},{p.ColStart}) lies outside {Rows} x {Cols}");
            if (p.ColStart % TypeInfo.BlockElements != 0 || p.Cols % TypeInfo.BlockElements != 0)
                throw new ModelFormatException($"tensor '{SourceName}': a part splits {TypeInfo.Name} blocks");
            covered += (long)p.Rows * p.Cols;
        }
        if (covered != ElementCount) throw new ModelFormatException($"tensor '{SourceName}': its parts cover {covered} of {ElementCount} elements");
        for (int i = 0; i < _parts.Length; i++)
            for (int j = i + 1; j < _parts.Length; j++)
            {
                var a = _parts[i];
                var b = _parts[j];
                if (a.RowStart < b.RowStart + b.Rows && b.RowStart < a.RowStart + a.Rows && a.ColStart < b.ColStart + b.Cols && b.ColStart < a.ColStart + a.Cols)
                    throw new ModelFormatException($"tensor '{SourceName}': two parts overlap");
            }
    }

    /// <summary>Copies row <paramref name="row"/>'s stored bytes (RowBytes) into <paramref name="destination"/>.</summary>
    public void ReadRow(int row, Span<byte> destination)
    {
        CheckRow(row);
        foreach (var p in _parts)
        {
            if (row < p.RowStart || row >= p.RowStart + p.Rows) continue;
            int offset = (int)TypeInfo.RowBytes(p.ColStart);
            int length = (int)TypeInfo.RowBytes(p.Cols);
            new ReadOnlySpan<byte>(p.Row(row), length).CopyTo(destination.Slice(offset, length));
        }
    }

    /// <summary>Dequantises row <paramref name="row"/> into <paramref name="destination"/> (Cols floats).</summary>
    public void DequantizeRow(int row, Span<float> destination)
    {
        CheckRow(row);
        if (destination.Length < Cols) throw new ArgumentException("destination too short", nameof(destination));
        var kernels = _kernels.Dequantize != null ? _kernels : BlockKernels.Get(Type, SourceName); // Get throws, naming the tensor
        fixed (float* dst = destination)
        {
            foreach (var p in _parts)
                if (row >= p.RowStart && row < p.RowStart + p.Rows) kernels.Dequantize(p.Row(row), dst + p.ColStart, p.Cols);
        }
    }

    /// <summary>The whole tensor as floats (for small tensors such as norms).</summary>
    public float[] ToFloats()
    {
        var values = new float[ElementCount];
        for (int r = 0; r < Rows; r++) DequantizeRow(r, values.AsSpan(r * Cols, Cols));
        return values;
    }

    private void CheckRow(int row)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row), $"row {row} is outside '{SourceName}' ({Rows} rows)");
    }

    public string ShapeText => string.Join(" x ", Dimensions);

    public override string ToString() => $"{Name} [{ShapeText}] {TypeInfo.Name}";
}
