using System.Text;
using Cria.Formats.Gguf;
using Cria.Tensors;

namespace Cria.Tests.Formats.Gguf.Support;

/// <summary>Low-level GGUF byte builder for malformed files: writes exactly the fields it is told to, with no checks,
/// so a test can put any value in any field.</summary>
internal sealed class GgufBytes
{
    private readonly MemoryStream _bytes = new();
    private readonly BinaryWriter _w;

    public GgufBytes() => _w = new BinaryWriter(_bytes);

    /// <summary>Magic, version, tensor count, kv count.</summary>
    public static GgufBytes Header(ulong tensors, ulong kvs, uint version = 3) =>
        new GgufBytes().Raw("GGUF"u8).U32(version).U64(tensors).U64(kvs);

    public long Length => _bytes.Length;

    public GgufBytes Raw(ReadOnlySpan<byte> bytes) { _w.Write(bytes); return this; }
    public GgufBytes U8(byte v) { _w.Write(v); return this; }
    public GgufBytes U32(uint v) { _w.Write(v); return this; }
    public GgufBytes U64(ulong v) { _w.Write(v); return this; }
    public GgufBytes Zeros(long n) { _w.Write(new byte[n]); return this; }
    public GgufBytes Repeat(int times, Action<GgufBytes> write) { for (int i = 0; i < times; i++) write(this); return this; }

    /// <summary>A GGUF string: u64 length then UTF-8 bytes.</summary>
    public GgufBytes Str(string s) => StrBytes(Encoding.UTF8.GetBytes(s));
    public GgufBytes StrBytes(ReadOnlySpan<byte> utf8) => U64((ulong)utf8.Length).Raw(utf8);

    /// <summary>A key and a value type; the caller writes the value next.</summary>
    public GgufBytes Key(string key, GgufValueType type) => Str(key).U32((uint)type);
    public GgufBytes KvU32(string key, uint v) => Key(key, GgufValueType.UInt32).U32(v);
    public GgufBytes KvString(string key, string v) => Key(key, GgufValueType.String).Str(v);

    /// <summary>A tensor directory entry with raw dims (ggml order), type id and data offset.</summary>
    public GgufBytes Tensor(string name, ulong[] dims, uint type, ulong offset)
    {
        Str(name).U32((uint)dims.Length);
        foreach (ulong d in dims) U64(d);
        return U32(type).U64(offset);
    }

    public GgufBytes Tensor(string name, ulong[] dims, GgmlType type, ulong offset) => Tensor(name, dims, (uint)type, offset);

    /// <summary>Zero bytes up to the next multiple of <paramref name="alignment"/>.</summary>
    public GgufBytes Pad(int alignment = 32) => Zeros((alignment - _bytes.Length % alignment) % alignment);

    public byte[] ToArray()
    {
        _w.Flush();
        return _bytes.ToArray();
    }
}
