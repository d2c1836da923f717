using System.Runtime.InteropServices;
using Cria.IO;

namespace Cria.Formats.Gguf;

/// <summary>A GGUF file (versions 2 and 3): its metadata, its tensor directory, and the tensor data,
/// memory-mapped and used in place. See https://github.com/ggml-org/ggml/blob/master/docs/gguf.md.</summary>
public sealed unsafe class GgufFile : IDisposable
{
    public const uint Magic = 0x46554747; // "GGUF" little-endian
    public const int DefaultAlignment = GgufLayout.DefaultAlignment;

    private readonly MappedFile _file;
    private readonly Dictionary<string, GgufTensorInfo> _tensorsByName;

    public string Path => _file.Path;
    public uint Version { get; }
    public int Alignment { get; }
    /// <summary>Absolute file offset where tensor data starts.</summary>
    public long DataOffset { get; }
    public GgufMetadata Metadata { get; }
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }
    public long FileLength => _file.Length;

    private GgufFile(MappedFile file, uint version, int alignment, long dataOffset, GgufMetadata metadata, List<GgufTensorInfo> tensors)
    {
        _file = file;
        Version = version;
        Alignment = alignment;
        DataOffset = dataOffset;
        Metadata = metadata;
        Tensors = tensors;
        _tensorsByName = tensors.ToDictionary(t => t.Name);
    }

    /// <summary>True if the file starts with the GGUF magic.</summary>
    public static bool HasMagic(string path)
    {
        if (!File.Exists(path)) return false;
        using var stream = File.OpenRead(path);
        Span<byte> head = stackalloc byte[4];
        return stream.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 && BitConverter.ToUInt32(head) == Magic;
    }

    /// <summary>Maps and parses <paramref name="path"/>; throws <see cref="ModelFormatException"/> naming what is wrong.</summary>
    public static GgufFile Open(string path)
    {
        var file = MappedFile.Open(path);
        try
        {
            return Parse(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static GgufFile Parse(MappedFile file)
    {
        var header = ParseHeader(file);
        return new GgufFile(file, header.Version, header.Alignment, header.DataOffset, header.Metadata, header.Tensors);
    }

    // Read, not mapped: a Llama 3 vocabulary makes an 8 MB header, whose map pages would stay resident with the model.
    // The buffer reserves room for the largest header read this way but takes memory only as reads fill it (1 MiB,
    // then twice as much each time the parser asks for more).
    private static GgufHeader ParseHeader(MappedFile file)
    {
        long reserve = Math.Min(file.Length, MaxHeaderRead);
        byte* buffer = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, reserve));
        try
        {
            long read = Math.Min(reserve, FirstHeaderRead);
            file.Read(0, new Span<byte>(buffer, (int)read));
            long More(long needed)
            {
                if (needed > reserve) throw new HeaderTooLargeException();
                long next = Math.Min(reserve, Math.Max(needed, 2 * read));
                file.Read(read, new Span<byte>(buffer + read, (int)(next - read)));
                return read = next;
            }
            return GgufParser.Parse(buffer, read, file.Length, file.Path, More);
        }
        catch (HeaderTooLargeException)
        {
            return GgufParser.Parse(file.Pointer, file.Length, file.Path); // absurd or hostile; the map serves
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    private sealed class HeaderTooLargeException : Exception;

    private const long FirstHeaderRead = 1 << 20;
    private const long MaxHeaderRead = 256 << 20; // beyond, the map serves (a header this size is hostile or absurd)

    public bool TryGetTensor(string name, out GgufTensorInfo tensor) => _tensorsByName.TryGetValue(name, out tensor!);

    /// <summary>A pointer to the first byte of <paramref name="tensor"/>'s data in the mapped file.</summary>
    public byte* TensorData(GgufTensorInfo tensor) => _file.Pointer + DataOffset + tensor.Offset;

    /// <summary>The bytes of <paramref name="tensor"/> in the mapped file (tensors up to 2 GiB; use
    /// <see cref="OpenTensorStream"/> for any size).</summary>
    public ReadOnlySpan<byte> TensorBytes(GgufTensorInfo tensor)
    {
        if (tensor.ByteSize > int.MaxValue)
            throw new CriaException($"tensor '{tensor.Name}' is {tensor.ByteSize} bytes, too big for one span; use OpenTensorStream");
        return _file.Span(DataOffset + tensor.Offset, (int)tensor.ByteSize);
    }

    /// <summary>A read-only stream over <paramref name="tensor"/>'s bytes in the mapped file, valid while this file is open.</summary>
    public Stream OpenTensorStream(GgufTensorInfo tensor) =>
        new UnmanagedMemoryStream(TensorData(tensor), tensor.ByteSize, tensor.ByteSize, FileAccess.Read);

    /// <summary>The mapped file, kept alive by whoever uses its tensors.</summary>
    public MappedFile Mapping => _file;

    public void Dispose() => _file.Dispose();
}
