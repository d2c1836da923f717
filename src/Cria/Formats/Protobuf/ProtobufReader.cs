using System.Buffers.Binary;
using System.Text;

namespace Cria.Formats.Protobuf;

/// <summary>Protocol-buffer wire types (the low 3 bits of a field tag).</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}

/// <summary>Reads one protobuf message from memory, field by field: just enough of the wire format for the files
/// Cria reads (sentencepiece's ModelProto). Every read is bounds-checked against the message, so a truncated or
/// hostile file gives a <see cref="ModelFormatException"/> naming <paramref name="source"/>, the message and the
/// byte offset, never an out-of-range read or an allocation larger than the input. Sub-messages are read with
/// <see cref="ReadMessage"/>, which the caller nests only as deep as its schema goes.</summary>
internal ref struct ProtobufReader(ReadOnlySpan<byte> data, string source, string message, int baseOffset = 0)
{
    private const int MaxGroupDepth = 64; // groups are skipped iteratively; deeper nesting is not a real file

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlySpan<byte> _data = data;
    private int _pos;

    /// <summary>The offset of the next byte in the file (for error messages).</summary>
    public readonly int FileOffset => baseOffset + _pos;

    /// <summary>Reads the next field's tag; false at the end of the message.</summary>
    public bool TryReadTag(out int field, out WireType wireType)
    {
        field = 0;
        wireType = default;
        if (_pos == _data.Length) return false;
        int tagOffset = FileOffset;
        ulong tag = ReadVarint();
        field = (int)Math.Min(tag >> 3, int.MaxValue);
        wireType = (WireType)(tag & 7);
        if (field == 0) throw Error(tagOffset, "field number 0 is not valid");
        if ((int)wireType > 5) throw Error(tagOffset, $"field {field} has wire type {(int)wireType}, which does not exist");
        if (tag >> 3 > 536_870_911) throw Error(tagOffset, $"field number {tag >> 3} is above the protobuf maximum (2^29 - 1)");
        return true;
    }

    /// <summary>A base-128 varint of at most 10 bytes.</summary>
    public ulong ReadVarint()
    {
        int start = FileOffset;
        ulong value = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (_pos == _data.Length) throw Error(start, "varint runs past the end");
            byte b = _data[_pos++];
            if (shift == 63 && b > 1) throw Error(start, "varint is longer than 64 bits");
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw Error(start, "varint is longer than 10 bytes");
    }

    /// <summary>An int32 field (negative values are sign-extended to 10 bytes on the wire; the low 32 bits are the value).</summary>
    public int ReadInt32(WireType wireType, string name)
    {
        Expect(wireType, WireType.Varint, name);
        return unchecked((int)ReadVarint());
    }

    public bool ReadBool(WireType wireType, string name)
    {
        Expect(wireType, WireType.Varint, name);
        return ReadVarint() != 0;
    }

    public float ReadFloat(WireType wireType, string name)
    {
        Expect(wireType, WireType.Fixed32, name);
        return BinaryPrimitives.ReadSingleLittleEndian(Take(4, name));
    }

    /// <summary>The bytes of a length-delimited field (a string, bytes or a sub-message).</summary>
    public ReadOnlySpan<byte> ReadBytes(WireType wireType, string name)
    {
        Expect(wireType, WireType.LengthDelimited, name);
        return ReadLengthDelimited(name);
    }

    public string ReadString(WireType wireType, string name)
    {
        int offset = FileOffset;
        ReadOnlySpan<byte> bytes = ReadBytes(wireType, name);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Error(offset, $"{name} is not valid UTF-8");
        }
    }

    /// <summary>A reader over an embedded message; <paramref name="name"/> names it in errors.</summary>
    public ProtobufReader ReadMessage(WireType wireType, string name)
    {
        Expect(wireType, WireType.LengthDelimited, name);
        ReadOnlySpan<byte> bytes = ReadLengthDelimited(name);
        return new ProtobufReader(bytes, source, name, FileOffset - bytes.Length);
    }

    /// <summary>Skips a field the caller does not know (protobuf's forward compatibility).</summary>
    public void Skip(int field, WireType wireType)
    {
        string name = $"field {field}";
        switch (wireType)
        {
            case WireType.Varint: ReadVarint(); break;
            case WireType.Fixed64: Take(8, name); break;
            case WireType.Fixed32: Take(4, name); break;
            case WireType.LengthDelimited: ReadLengthDelimited(name); break;
            case WireType.StartGroup: SkipGroup(field); break;
            case WireType.EndGroup: throw Error(FileOffset, $"end of group {field} without a start");
        }
    }

    private void SkipGroup(int field)
    {
        // Iterative, with an explicit depth bound: nested groups cannot exhaust the stack.
        Span<int> open = stackalloc int[MaxGroupDepth];
        int depth = 0;
        open[depth++] = field;
        while (depth > 0)
        {
            if (!TryReadTag(out int f, out WireType w)) throw Error(FileOffset, $"group {open[depth - 1]} is not closed before the end");
            if (w == WireType.StartGroup)
            {
                if (depth == MaxGroupDepth) throw Error(FileOffset, $"groups nested deeper than {MaxGroupDepth} levels");
                open[depth++] = f;
            }
            else if (w == WireType.EndGroup)
            {
                if (f != open[depth - 1]) throw Error(FileOffset, $"group {open[depth - 1]} is closed as group {f}");
                depth--;
            }
            else Skip(f, w);
        }
    }

    private ReadOnlySpan<byte> ReadLengthDelimited(string name)
    {
        int start = FileOffset;
        ulong length = ReadVarint();
        if (length > (ulong)(_data.Length - _pos))
            throw Error(start, $"{name} has length {length}, past the end of the {message} ({_data.Length - _pos} bytes remain)");
        return Take((int)length, name);
    }

    private ReadOnlySpan<byte> Take(int count, string name)
    {
        if (count > _data.Length - _pos) throw Error(FileOffset, $"{name} needs {count} bytes, {_data.Length - _pos} remain in the {message}");
        ReadOnlySpan<byte> bytes = _data.Slice(_pos, count);
        _pos += count;
        return bytes;
    }

    private readonly void Expect(WireType actual, WireType expected, string name)
    {
        if (actual != expected) throw Error(FileOffset, $"{name} has wire type {actual}, expected {expected}");
    }

    /// <summary>An error naming the file, the message being read and the file offset.</summary>
    public readonly ModelFormatException Error(int fileOffset, string what) => new($"{source}: {message} at byte {fileOffset}: {what}");
}
