namespace Cria.Formats.PyTorch;

/// <summary>A tensor of a torch.save checkpoint, in place in the file's memory map: its dtype, shape and strides (in
/// elements, outermost first as PyTorch prints them) and where its first element lies. Its bounds were checked
/// against its storage record when the file was opened.</summary>
public sealed unsafe class PyTorchTensor
{
    private readonly byte* _data;

    public string Name { get; }
    public TorchDtype Dtype { get; }
    public long[] Shape { get; }
    public long[] Stride { get; }
    /// <summary>The storage (zip record <c>data/&lt;key&gt;</c>) the tensor views; tensors may share one.</summary>
    public string StorageKey { get; }
    /// <summary>Offset of the first element in the storage, in elements.</summary>
    public long StorageOffset { get; }
    public long ElementCount { get; }
    public long ByteCount => ElementCount * Dtype.ElementSize;
    /// <summary>True when the elements lie row-major and back to back, the only layout Cria uses in place.</summary>
    public bool IsContiguous { get; }
    internal string Source { get; }

    internal PyTorchTensor(string name, TorchDtype dtype, long[] shape, long[] stride, string storageKey, long storageOffset,
        long elementCount, bool isContiguous, byte* data, string source)
    {
        Name = name;
        Dtype = dtype;
        Shape = shape;
        Stride = stride;
        StorageKey = storageKey;
        StorageOffset = storageOffset;
        ElementCount = elementCount;
        IsContiguous = isContiguous;
        _data = data;
        Source = source;
    }

    /// <summary>The first element; only for a contiguous tensor (others are refused with the reason).</summary>
    public byte* Data => IsContiguous ? _data : throw new ModelFormatException(
        $"{Source}: tensor '{Name}' is not contiguous row-major (shape [{string.Join(", ", Shape)}], stride [{string.Join(", ", Stride)}]); " +
        "Cria uses tensors in place and cannot read a transposed or strided view (save it after .contiguous())");

    /// <summary>The tensor's bytes (contiguous tensors under 2 GiB).</summary>
    public ReadOnlySpan<byte> Bytes => new(Data, checked((int)ByteCount));

    public string ShapeText => string.Join(" x ", Shape);

    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}] {Dtype}";
}
