using System.Buffers.Binary;
using Cria.IO;
using Cria.Tensors;

namespace Cria.Formats.SafeTensors;

/// <summary>A safetensors file, memory-mapped: an 8-byte little-endian header length N, N bytes of JSON header
/// (see <see cref="SafeTensorsHeader"/>), then the tensors' raw little-endian C-order data. Tensors are used in place:
/// F32, F16 and BF16 become <see cref="TensorData"/> over the map without a copy.</summary>
public sealed unsafe class SafeTensorsFile : IDisposable
{
    private const int LengthPrefixBytes = 8;

    private readonly MappedFile _file;
    private readonly Dictionary<string, SafeTensorsTensorInfo> _byName;

    /// <summary>The file this was opened from.</summary>
    public string Path => _file.Path;
    /// <summary>Bytes of JSON header (with its padding), after the 8-byte length.</summary>
    public long HeaderLength { get; }
    /// <summary>Where the data section starts in the file.</summary>
    public long DataOffset => LengthPrefixBytes + HeaderLength;
    /// <summary>Tensors in data order (ascending offsets).</summary>
    public IReadOnlyList<SafeTensorsTensorInfo> Tensors { get; }
    /// <summary>The header's <c>__metadata__</c> (e.g. <c>format: pt</c>), in header order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Metadata { get; }

    private SafeTensorsFile(MappedFile file, long headerLength, SafeTensorsHeader header)
    {
        _file = file;
        HeaderLength = headerLength;
        Tensors = header.Tensors;
        Metadata = header.Metadata;
        _byName = header.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>Maps <paramref name="path"/> and checks its header; the data stays on disk until read.</summary>
    public static SafeTensorsFile Open(string path)
    {
        var file = MappedFile.Open(path);
        try
        {
            string source = $"safetensors '{path}'";
            if (file.Length < LengthPrefixBytes) throw new ModelFormatException($"{source}: {file.Length} bytes is too short for the 8-byte header length");
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file.Span(0, LengthPrefixBytes));
            if (headerLength > SafeTensorsHeader.MaxHeaderBytes)
                throw new ModelFormatException($"{source}: header length {headerLength} exceeds the format's limit of {SafeTensorsHeader.MaxHeaderBytes} bytes");
            if ((long)headerLength > file.Length - LengthPrefixBytes)
                throw new ModelFormatException($"{source}: header length {headerLength} is beyond the end of the {file.Length}-byte file (truncated?)");
            var json = file.Span(LengthPrefixBytes, (int)headerLength);
            var header = SafeTensorsHeader.Parse(json, file.Length - LengthPrefixBytes - (long)headerLength, source);
            return new SafeTensorsFile(file, (long)headerLength, header);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>True when <paramref name="path"/> starts like a safetensors file: a header length that fits the file,
    /// then '{'. Reads 9 bytes.</summary>
    public static bool HasSafeTensorsHeader(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            Span<byte> head = stackalloc byte[LengthPrefixBytes + 1];
            if (stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) < head.Length) return false;
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(head);
            return head[LengthPrefixBytes] == (byte)'{' && length <= SafeTensorsHeader.MaxHeaderBytes && (long)length <= stream.Length - LengthPrefixBytes;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>The tensor called <paramref name="name"/>, if the file has one.</summary>
    public bool TryGetTensor(string name, out SafeTensorsTensorInfo tensor) => _byName.TryGetValue(name, out tensor!);

    /// <summary>The tensor called <paramref name="name"/>; an error naming the file if there is none.</summary>
    public SafeTensorsTensorInfo Tensor(string name) =>
        _byName.TryGetValue(name, out var t) ? t : throw new ModelFormatException($"safetensors '{Path}': no tensor '{name}'");

    /// <summary>The first byte of <paramref name="tensor"/>'s data in the map; valid until <see cref="Dispose"/>.</summary>
    public byte* DataPointer(SafeTensorsTensorInfo tensor)
    {
        if (!_byName.TryGetValue(tensor.Name, out var own) || !ReferenceEquals(own, tensor))
            throw new ArgumentException($"tensor '{tensor.Name}' is not one of '{Path}'", nameof(tensor));
        return _file.Pointer + DataOffset + tensor.Begin;
    }

    /// <summary>The raw bytes of <paramref name="tensor"/> (for tensors under 2 GiB).</summary>
    public ReadOnlySpan<byte> Bytes(SafeTensorsTensorInfo tensor)
    {
        if (tensor.ByteSize > int.MaxValue) throw new NotSupportedException($"tensor '{tensor.Name}' is {tensor.ByteSize} bytes; read it row by row through ToTensorData");
        return new ReadOnlySpan<byte>(DataPointer(tensor), (int)tensor.ByteSize);
    }

    /// <summary><paramref name="tensor"/> in place as a <see cref="TensorData"/> named <paramref name="name"/> (its
    /// safetensors name is kept as the source name), dimensions in ggml order. Only F32, F16 and BF16 can be weights.</summary>
    public TensorData ToTensorData(SafeTensorsTensorInfo tensor, string name)
    {
        if (!tensor.DType.TryGetGgmlType(out var type))
            throw new ModelFormatException($"safetensors '{Path}': tensor '{tensor.Name}' has dtype {tensor.DType}, which Cria cannot use as a weight " +
                                           "(F32, F16 and BF16 can be; convert the checkpoint to one of them)");
        long[] dims = tensor.Shape.Length == 0 ? [1] : tensor.Shape.Reverse().ToArray(); // ggml order: the row length first
        if (dims.Any(d => d == 0)) throw new ModelFormatException($"safetensors '{Path}': tensor '{tensor.Name}' [{tensor.ShapeText}] is empty");
        return TensorData.Contiguous(name, tensor.Name, type, dims, DataPointer(tensor));
    }

    /// <summary>Unmaps the file; tensors taken from it must not be used afterwards.</summary>
    public void Dispose() => _file.Dispose();
}
