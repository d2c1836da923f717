using System.Runtime.InteropServices;
using System.Text;

namespace Cria.Formats.Gguf;

/// <summary>Checks that a <see cref="GgufValue"/> is well formed (its .NET value matches its GGUF type, strings are
/// valid UTF-8, nesting is bounded) and encodes it in the little-endian GGUF layout.</summary>
internal sealed class GgufValueEncoder
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly BinaryWriter _out;
    private byte[] _scratch = new byte[256];

    public GgufValueEncoder(BinaryWriter output) => _out = output;

    /// <summary>The .NET type that holds a value (or an array item) of <paramref name="type"/>.</summary>
    public static Type? ClrType(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => typeof(byte),
        GgufValueType.Int8 => typeof(sbyte),
        GgufValueType.UInt16 => typeof(ushort),
        GgufValueType.Int16 => typeof(short),
        GgufValueType.UInt32 => typeof(uint),
        GgufValueType.Int32 => typeof(int),
        GgufValueType.Float32 => typeof(float),
        GgufValueType.Bool => typeof(bool),
        GgufValueType.String => typeof(string),
        GgufValueType.Array => typeof(GgufArray),
        GgufValueType.UInt64 => typeof(ulong),
        GgufValueType.Int64 => typeof(long),
        GgufValueType.Float64 => typeof(double),
        _ => null,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming <paramref name="what"/> if the value cannot be written.</summary>
    public static void Validate(string what, GgufValue value)
    {
        ArgumentNullException.ThrowIfNull(value, what);
        var clr = ClrType(value.Type) ?? throw new ArgumentException($"{what}: unknown GGUF value type {(uint)value.Type}");
        if (value.Value?.GetType() != clr)
            throw new ArgumentException($"{what}: a {value.Type} value must be a {clr.Name}, got {value.Value?.GetType().Name ?? "null"}");
        if (value.Value is string s) ValidateString(what, s);
        if (value.Value is GgufArray a) ValidateArray(what, a, 0);
    }

    /// <summary>The UTF-8 length of <paramref name="s"/>; throws if it has unpaired surrogates or is too long.</summary>
    public static int ValidateString(string what, string s)
    {
        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(s);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"{what}: the string is not valid Unicode (unpaired surrogate) so it has no UTF-8 form", e);
        }
        if (bytes > GgufCursor.MaxStringBytes)
            throw new ArgumentException($"{what}: the string is {bytes} bytes long, more than the {GgufCursor.MaxStringBytes} a reader accepts");
        return bytes;
    }

    private static void ValidateArray(string what, GgufArray array, int depth)
    {
        if (depth >= GgufLayout.MaxArrayNesting)
            throw new ArgumentException($"{what}: arrays are nested more than {GgufLayout.MaxArrayNesting} deep");
        var clr = ClrType(array.ElementType) ?? throw new ArgumentException($"{what}: unknown array element type {(uint)array.ElementType}");
        if (array.Items is null || array.Items.GetType() != clr.MakeArrayType())
            throw new ArgumentException($"{what}: an array of {array.ElementType} must hold a {clr.Name}[], got {array.Items?.GetType().Name ?? "null"}");
        if (array.Items is string[] strings)
            for (int i = 0; i < strings.Length; i++)
                ValidateString($"{what}[{i}]", strings[i] ?? throw new ArgumentException($"{what}[{i}] is null"));
        if (array.Items is GgufArray[] inner)
            for (int i = 0; i < inner.Length; i++)
                ValidateArray($"{what}[{i}]", inner[i] ?? throw new ArgumentException($"{what}[{i}] is null"), depth + 1);
    }

    /// <summary>Writes the value's type tag and then the value.</summary>
    public void WriteTagged(GgufValue value)
    {
        _out.Write((uint)value.Type);
        switch (value.Value)
        {
            case GgufArray a: WriteArray(a); break;
            case string s: WriteString(s); break;
            case bool b: _out.Write((byte)(b ? 1 : 0)); break;
            case byte v: _out.Write(v); break;
            case sbyte v: _out.Write(v); break;
            case ushort v: _out.Write(v); break;
            case short v: _out.Write(v); break;
            case uint v: _out.Write(v); break;
            case int v: _out.Write(v); break;
            case float v: _out.Write(v); break;
            case ulong v: _out.Write(v); break;
            case long v: _out.Write(v); break;
            case double v: _out.Write(v); break;
            default: throw new ArgumentException($"cannot encode a {value.Value?.GetType().Name} as GGUF");
        }
    }

    /// <summary>A GGUF string: u64 byte length, then UTF-8 bytes (no terminator).</summary>
    public void WriteString(string s)
    {
        int length = StrictUtf8.GetByteCount(s);
        if (_scratch.Length < length) _scratch = new byte[Math.Max(length, _scratch.Length * 2)];
        StrictUtf8.GetBytes(s, _scratch);
        _out.Write((ulong)length);
        _out.Write(_scratch, 0, length);
    }

    // Element type, count, then the items; items of a nested array carry no type tag of their own (as gguf-py writes).
    private void WriteArray(GgufArray array)
    {
        _out.Write((uint)array.ElementType);
        _out.Write((ulong)array.Items.Length);
        switch (array.Items)
        {
            case string[] strings: foreach (var s in strings) WriteString(s); break;
            case GgufArray[] arrays: foreach (var a in arrays) WriteArray(a); break;
            case bool[] bools: foreach (bool b in bools) _out.Write((byte)(b ? 1 : 0)); break;
            case byte[] bytes: _out.Write(bytes); break;
            case sbyte[] v: WritePrimitives<sbyte>(v); break;
            case ushort[] v: WritePrimitives<ushort>(v); break;
            case short[] v: WritePrimitives<short>(v); break;
            case uint[] v: WritePrimitives<uint>(v); break;
            case int[] v: WritePrimitives<int>(v); break;
            case float[] v: WritePrimitives<float>(v); break;
            case ulong[] v: WritePrimitives<ulong>(v); break;
            case long[] v: WritePrimitives<long>(v); break;
            case double[] v: WritePrimitives<double>(v); break;
            default: throw new ArgumentException($"cannot encode an array of {array.Items.GetType().Name} as GGUF");
        }
    }

    private void WritePrimitives<T>(T[] items) where T : unmanaged
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("GGUF writing needs a little-endian machine");
        _out.Write(MemoryMarshal.AsBytes(items.AsSpan()));
    }
}
