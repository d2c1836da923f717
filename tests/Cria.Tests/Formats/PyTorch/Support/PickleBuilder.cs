using System.Buffers.Binary;
using System.Text;

namespace Cria.Tests.Formats.PyTorch.Support;

/// <summary>Writes pickle opcodes byte by byte (names as pickletools prints them), to build hostile and well-formed
/// pickles in tests without Python.</summary>
internal sealed class PickleBuilder
{
    private readonly List<byte> _bytes = [];

    public PickleBuilder Op(byte opcode)
    {
        _bytes.Add(opcode);
        return this;
    }

    public PickleBuilder Op(char opcode) => Op((byte)opcode);

    public PickleBuilder Raw(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes) _bytes.Add(b);
        return this;
    }

    public PickleBuilder U8(int v) => Raw([(byte)v]);
    public PickleBuilder U16(int v) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v); return Raw(b); }
    public PickleBuilder U32(uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); return Raw(b); }
    public PickleBuilder U64(ulong v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); return Raw(b); }

    public PickleBuilder Proto(int version = 2) => Op(0x80).U8(version);
    public PickleBuilder Stop() => Op('.');
    public PickleBuilder Mark() => Op('(');
    public PickleBuilder Tuple() => Op('t');
    public PickleBuilder Tuple2() => Op(0x86);
    public PickleBuilder EmptyTuple() => Op(')');
    public PickleBuilder EmptyDict() => Op('}');
    public PickleBuilder EmptyList() => Op(']');
    public PickleBuilder SetItems() => Op('u');
    public PickleBuilder SetItem() => Op('s');
    public PickleBuilder Append() => Op('a');
    public PickleBuilder Reduce() => Op('R');
    public PickleBuilder Build() => Op('b');
    public PickleBuilder BinPersId() => Op('Q');
    public PickleBuilder None() => Op('N');
    public PickleBuilder False() => Op(0x89);
    public PickleBuilder True() => Op(0x88);
    public PickleBuilder Put(int index) => index < 256 ? Op('q').U8(index) : Op('r').U32((uint)index);
    public PickleBuilder Get(int index) => index < 256 ? Op('h').U8(index) : Op('j').U32((uint)index);
    public PickleBuilder Memoize() => Op(0x94);

    /// <summary>GLOBAL 'module name' (protocol 0–3 form).</summary>
    public PickleBuilder Global(string module, string name) => Op('c').Raw(Encoding.UTF8.GetBytes(module + "\n" + name + "\n"));

    /// <summary>Two strings then STACK_GLOBAL (protocol 4 form).</summary>
    public PickleBuilder StackGlobal(string module, string name) => ShortUnicode(module).Memoize().ShortUnicode(name).Memoize().Op(0x93);

    public PickleBuilder Int(long v)
    {
        if (v is >= 0 and < 256) return Op('K').U8((int)v);
        if (v is >= 0 and < 65536) return Op('M').U16((int)v);
        if (v is >= int.MinValue and <= int.MaxValue) return Op('J').U32((uint)(int)v);
        return Op(0x8a).U8(8).U64((ulong)v);
    }

    public PickleBuilder Unicode(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        return Op('X').U32((uint)b.Length).Raw(b);
    }

    public PickleBuilder ShortUnicode(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        return Op(0x8c).U8(b.Length).Raw(b);
    }

    /// <summary>A tuple of ints, as torch writes sizes and strides.</summary>
    public PickleBuilder IntTuple(params long[] values)
    {
        Mark();
        foreach (long v in values) Int(v);
        return Tuple();
    }

    /// <summary>torch._utils._rebuild_tensor_v2(('storage', torch.{storageType}, key, 'cpu', numel), offset, shape,
    /// stride, False, OrderedDict()) exactly as torch 1.13's torch.save writes it (without the memo).</summary>
    public PickleBuilder Tensor(string storageType, string key, long numel, long offset, long[] shape, long[] stride)
    {
        Global("torch._utils", "_rebuild_tensor_v2");
        Mark();
        Mark().Unicode("storage").Global("torch", storageType).Unicode(key).Unicode("cpu").Int(numel).Tuple().BinPersId();
        Int(offset).IntTuple(shape).IntTuple(stride).False();
        Global("collections", "OrderedDict").EmptyTuple().Reduce();
        return Tuple().Reduce();
    }

    public int Length => _bytes.Count;

    public byte[] ToArray() => _bytes.ToArray();
}
