using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;

namespace Cria.Formats.Gguf;

/// <summary>Reads little-endian GGUF header fields from mapped memory; every read is checked against the end
/// of the file, so a truncated or hostile file fails with the offset and the field that did not fit.</summary>
internal unsafe ref struct GgufCursor
{
    private readonly byte* _start;
    private long _available;          // bytes at _start so far: the file's first bytes, or all of them
    private readonly long _length;    // the file's
    private readonly string _path;
    private readonly MoreBytes? _more;

    /// <summary>Makes at least <paramref name="needed"/> of the file's first bytes available at the cursor's start
    /// (the same memory) and returns how many now are.</summary>
    public delegate long MoreBytes(long needed);

    public long Position { get; private set; }
    public long Remaining => _length - Position;

    public GgufCursor(byte* start, long length, string path) : this(start, length, length, path, null) { }

    /// <summary>A cursor over a file of <paramref name="length"/> bytes whose first <paramref name="available"/> are
    /// at <paramref name="start"/>; a read past them asks <paramref name="more"/> for more.</summary>
    public GgufCursor(byte* start, long available, long length, string path, MoreBytes? more)
    {
        _start = start;
        _available = Math.Min(available, length);
        _length = length;
        _path = path;
        _more = more;
        Position = 0;
    }

    public ModelFormatException Error(string what) =>
        new($"GGUF file '{_path}': {what}");

    /// <summary>The longest string accepted; real metadata strings (chat templates) are kilobytes, and .NET strings
    /// cannot hold much more than this anyway.</summary>
    public const int MaxStringBytes = 1 << 29;

    private ReadOnlySpan<byte> Take(long count, string field)
    {
        if (count < 0 || count > Remaining)
            throw Error($"truncated: {field} needs {count} bytes at offset {Position}, but the file has {_length} bytes");
        if (count > int.MaxValue) throw Error($"{field} needs {count} bytes at offset {Position}, more than one read can take");
        if (count > _available - Position) _available = Math.Min(_length, _more!(Position + count));
        var span = new ReadOnlySpan<byte>(_start + Position, (int)count);
        Position += count;
        return span;
    }

    public byte U8(string field) => Take(1, field)[0];
    public sbyte I8(string field) => (sbyte)Take(1, field)[0];
    public ushort U16(string field) => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, field));
    public short I16(string field) => BinaryPrimitives.ReadInt16LittleEndian(Take(2, field));
    public uint U32(string field) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, field));
    public int I32(string field) => BinaryPrimitives.ReadInt32LittleEndian(Take(4, field));
    public ulong U64(string field) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, field));
    public long I64(string field) => BinaryPrimitives.ReadInt64LittleEndian(Take(8, field));
    public float F32(string field) => BinaryPrimitives.ReadSingleLittleEndian(Take(4, field));
    public double F64(string field) => BinaryPrimitives.ReadDoubleLittleEndian(Take(8, field));

    public bool Bool(string field)
    {
        byte b = U8(field);
        if (b > 1) throw Error($"{field}: boolean byte is {b}, expected 0 or 1 (offset {Position - 1})");
        return b == 1;
    }

    /// <summary>A count that must fit in the rest of the file, given each item takes at least <paramref name="minItemBytes"/>.</summary>
    public long Count(string field, long minItemBytes)
    {
        long at = Position;
        ulong n = U64(field);
        if (n > (ulong)long.MaxValue || (minItemBytes > 0 && (long)n > Remaining / minItemBytes))
            throw Error($"{field} is {n} at offset {at}, more than the {Remaining} remaining bytes can hold");
        return (long)n;
    }

    public string String(string field) => Encoding.UTF8.GetString(StringBytes(field));

    /// <summary>A string's bytes, checked to be valid UTF-8.</summary>
    public ReadOnlySpan<byte> StringBytes(string field)
    {
        long at = Position;
        long length = Count(field + " length", 1);
        if (length > MaxStringBytes) throw Error($"{field} at offset {at} is {length} bytes long, more than the {MaxStringBytes} allowed");
        var bytes = Take(length, field);
        if (!Utf8.IsValid(bytes)) throw Error($"{field} at offset {at} is not valid UTF-8");
        return bytes;
    }

    public void Seek(long position)
    {
        if (position < 0 || position > _length) throw Error($"offset {position} is outside the file ({_length} bytes)");
        Position = position;
    }
}
