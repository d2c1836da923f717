using System.Buffers.Binary;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Cria.Formats.PyTorch;

/// <summary>One decoded pickle instruction: the opcode and its argument (an integer, a float, or bytes; GLOBAL has
/// two byte arguments, module and name). Byte arguments are slices of the pickle, not copies.</summary>
internal ref struct PickleInstruction
{
    public PickleOpcode Opcode;
    /// <summary>Offset of the opcode byte in the pickle.</summary>
    public int Offset;
    public long Integer;
    /// <summary>Protocol 0's INT "00"/"01", which mean False/True.</summary>
    public bool IsBool;
    public double Float;
    public ReadOnlySpan<byte> Bytes;
    public ReadOnlySpan<byte> Bytes2;
}

/// <summary>Walks a pickle instruction by instruction, decoding each argument with every length checked against the
/// bytes that remain, so a hostile length is refused before anything is allocated for it.</summary>
internal ref struct PickleCursor(ReadOnlySpan<byte> data, string source)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    public readonly bool AtEnd => _position >= _data.Length;

    public readonly ModelFormatException Error(int offset, string what) => new($"{source}: {what} (at byte {offset} of the pickle)");

    /// <summary>Decodes the next instruction; false at the end of the data.</summary>
    public bool Next(out PickleInstruction instruction)
    {
        instruction = default;
        if (AtEnd) return false;
        int start = _position;
        var op = (PickleOpcode)_data[_position++];
        instruction.Opcode = op;
        instruction.Offset = start;
        switch (op)
        {
            case PickleOpcode.Int:
                var intText = Line(start, op);
                if (intText.SequenceEqual("00"u8) || intText.SequenceEqual("01"u8))
                {
                    instruction.IsBool = true;
                    instruction.Integer = intText[1] - '0';
                }
                else instruction.Integer = ParseInteger(intText, start, op);
                break;
            case PickleOpcode.Long:
                var longText = Line(start, op);
                if (longText.Length > 0 && longText[^1] == 'L') longText = longText[..^1];
                instruction.Integer = ParseInteger(longText, start, op);
                break;
            case PickleOpcode.Get:
            case PickleOpcode.Put:
                instruction.Integer = ParseInteger(Line(start, op), start, op);
                break;
            case PickleOpcode.Float:
                var floatText = Line(start, op);
                if (!double.TryParse(Encoding.ASCII.GetString(floatText), NumberStyles.Float, CultureInfo.InvariantCulture, out instruction.Float))
                    throw Error(start, $"FLOAT '{Printable(floatText)}' is not a number");
                break;
            case PickleOpcode.BinFloat:
                instruction.Float = BinaryPrimitives.ReadDoubleBigEndian(Take(8, start, op));
                break;
            case PickleOpcode.BinInt:
                instruction.Integer = BinaryPrimitives.ReadInt32LittleEndian(Take(4, start, op));
                break;
            case PickleOpcode.BinInt1:
            case PickleOpcode.BinGet:
            case PickleOpcode.BinPut:
            case PickleOpcode.Proto:
            case PickleOpcode.Ext1:
                instruction.Integer = Take(1, start, op)[0];
                break;
            case PickleOpcode.BinInt2:
            case PickleOpcode.Ext2:
                instruction.Integer = BinaryPrimitives.ReadUInt16LittleEndian(Take(2, start, op));
                break;
            case PickleOpcode.LongBinGet:
            case PickleOpcode.LongBinPut:
            case PickleOpcode.Ext4:
                instruction.Integer = BinaryPrimitives.ReadUInt32LittleEndian(Take(4, start, op));
                break;
            case PickleOpcode.Long1:
                instruction.Integer = LittleEndianInteger(Take(Take(1, start, op)[0], start, op), start);
                break;
            case PickleOpcode.Long4:
                int longLength = BinaryPrimitives.ReadInt32LittleEndian(Take(4, start, op));
                if (longLength < 0) throw Error(start, $"LONG4 has a negative length {longLength}");
                if (longLength > 8) throw Error(start, $"LONG4 holds a {longLength}-byte integer; checkpoints hold 64-bit integers at most");
                instruction.Integer = LittleEndianInteger(Take(longLength, start, op), start);
                break;
            case PickleOpcode.Frame:
                long frame = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(Take(8, start, op)), long.MaxValue);
                if (frame > _data.Length - _position) throw Error(start, $"FRAME declares {frame} bytes but only {_data.Length - _position} remain (truncated)");
                break;
            case PickleOpcode.ShortBinString:
            case PickleOpcode.ShortBinUnicode:
            case PickleOpcode.ShortBinBytes:
                instruction.Bytes = Take(Take(1, start, op)[0], start, op);
                break;
            case PickleOpcode.BinString:
                instruction.Bytes = Take(BinaryPrimitives.ReadInt32LittleEndian(Take(4, start, op)), start, op);
                break;
            case PickleOpcode.BinUnicode:
            case PickleOpcode.BinBytes:
                instruction.Bytes = Take(BinaryPrimitives.ReadUInt32LittleEndian(Take(4, start, op)), start, op);
                break;
            case PickleOpcode.BinUnicode8:
            case PickleOpcode.BinBytes8:
            case PickleOpcode.ByteArray8:
                ulong length8 = BinaryPrimitives.ReadUInt64LittleEndian(Take(8, start, op));
                instruction.Bytes = Take((long)Math.Min(length8, long.MaxValue), start, op);
                break;
            case PickleOpcode.Global:
            case PickleOpcode.Inst:
                instruction.Bytes = Line(start, op);
                instruction.Bytes2 = Line(start, op);
                break;
            case PickleOpcode.PersId:
            case PickleOpcode.String:
            case PickleOpcode.Unicode:
                instruction.Bytes = Line(start, op);
                break;
            case PickleOpcode.Mark or PickleOpcode.Stop or PickleOpcode.Pop or PickleOpcode.PopMark or PickleOpcode.Dup or PickleOpcode.None
                or PickleOpcode.BinPersId or PickleOpcode.Reduce or PickleOpcode.Append or PickleOpcode.Build or PickleOpcode.Dict
                or PickleOpcode.EmptyDict or PickleOpcode.Appends or PickleOpcode.List or PickleOpcode.EmptyList or PickleOpcode.Obj
                or PickleOpcode.SetItem or PickleOpcode.Tuple or PickleOpcode.EmptyTuple or PickleOpcode.SetItems or PickleOpcode.NewObj
                or PickleOpcode.Tuple1 or PickleOpcode.Tuple2 or PickleOpcode.Tuple3 or PickleOpcode.NewTrue or PickleOpcode.NewFalse
                or PickleOpcode.EmptySet or PickleOpcode.AddItems or PickleOpcode.FrozenSet or PickleOpcode.NewObjEx
                or PickleOpcode.StackGlobal or PickleOpcode.Memoize or PickleOpcode.NextBuffer or PickleOpcode.ReadOnlyBuffer:
                break;
            default:
                throw Error(start, $"unknown pickle opcode 0x{(byte)op:x2}");
        }
        return true;
    }

    /// <summary>The opcode's name as pickletools prints it (BINUNICODE, LONG_BINPUT …), for messages.</summary>
    public static string Name(PickleOpcode op) => op switch
    {
        PickleOpcode.PopMark => "POP_MARK",
        PickleOpcode.EmptyDict or PickleOpcode.EmptyList or PickleOpcode.EmptyTuple or PickleOpcode.EmptySet => "EMPTY_" + op.ToString()[5..].ToUpperInvariant(),
        PickleOpcode.LongBinGet => "LONG_BINGET",
        PickleOpcode.LongBinPut => "LONG_BINPUT",
        PickleOpcode.ShortBinString or PickleOpcode.ShortBinUnicode or PickleOpcode.ShortBinBytes => "SHORT_" + op.ToString()[5..].ToUpperInvariant(),
        PickleOpcode.StackGlobal => "STACK_GLOBAL",
        PickleOpcode.NewObjEx => "NEWOBJ_EX",
        PickleOpcode.AddItems => "ADDITEMS",
        PickleOpcode.NextBuffer => "NEXT_BUFFER",
        PickleOpcode.ReadOnlyBuffer => "READONLY_BUFFER",
        _ => op.ToString().ToUpperInvariant(),
    };

    private ReadOnlySpan<byte> Take(long count, int start, PickleOpcode op)
    {
        if (count < 0 || count > _data.Length - _position)
            throw Error(start, $"{Name(op)} declares {count} bytes but only {_data.Length - _position} remain (truncated or corrupt)");
        var slice = _data.Slice(_position, (int)count);
        _position += (int)count;
        return slice;
    }

    // Protocol 0 arguments are text lines ending in '\n'.
    private ReadOnlySpan<byte> Line(int start, PickleOpcode op)
    {
        int end = _data[_position..].IndexOf((byte)'\n');
        if (end < 0) throw Error(start, $"{Name(op)} has no end of line (truncated)");
        var line = _data.Slice(_position, end);
        _position += end + 1;
        return line;
    }

    private readonly long ParseInteger(ReadOnlySpan<byte> text, int start, PickleOpcode op)
    {
        if (!Utf8Parser.TryParse(text, out long value, out int consumed) || consumed != text.Length)
            throw Error(start, $"{Name(op)} '{Printable(text)}' is not a 64-bit integer");
        return value;
    }

    // Text from a corrupt file, made fit for a one-line message.
    private static string Printable(ReadOnlySpan<byte> text)
    {
        var chars = text[..Math.Min(text.Length, 40)].ToArray().Select(b => b is >= 0x20 and < 0x7f ? (char)b : '?');
        return string.Concat(chars) + (text.Length > 40 ? "…" : "");
    }

    // LONG1/LONG4: little-endian two's complement of up to 8 bytes.
    private readonly long LittleEndianInteger(ReadOnlySpan<byte> bytes, int start)
    {
        if (bytes.Length > 8) throw Error(start, $"a {bytes.Length}-byte integer is larger than checkpoints use");
        if (bytes.Length == 0) return 0;
        Span<byte> wide = stackalloc byte[8];
        wide.Fill((bytes[^1] & 0x80) != 0 ? (byte)0xFF : (byte)0);
        bytes.CopyTo(wide);
        return BinaryPrimitives.ReadInt64LittleEndian(wide);
    }
}
