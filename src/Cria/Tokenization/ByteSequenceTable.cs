using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Cria.Tokenization;

/// <summary>An immutable hash table from byte sequences to ints (token bytes → rank), built for the BPE hot loop:
/// all keys in one array, open addressing with linear probing, no allocation per look-up.</summary>
internal sealed class ByteSequenceTable
{
    private readonly byte[] _keys;      // every key's bytes, back to back
    private readonly int[] _keyStart;   // entry e's key is _keys[_keyStart[e].._keyStart[e + 1]]
    private readonly int[] _values;
    private readonly int[] _slots;      // entry index + 1, 0 for an empty slot
    private readonly int _mask;

    /// <summary>Builds the table; <paramref name="duplicate"/> receives the index of the first key seen twice, else -1.</summary>
    public ByteSequenceTable(IReadOnlyList<byte[]> keys, IReadOnlyList<int> values, out int duplicate)
    {
        duplicate = -1;
        long total = 0;
        foreach (byte[] k in keys) total += k.Length;
        _keys = new byte[total];
        _keyStart = new int[keys.Count + 1];
        _values = new int[keys.Count];
        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, keys.Count * 2));
        _slots = new int[capacity];
        _mask = capacity - 1;
        int offset = 0;
        for (int e = 0; e < keys.Count; e++)
        {
            _keyStart[e] = offset;
            keys[e].CopyTo(_keys, offset);
            offset += keys[e].Length;
            _keyStart[e + 1] = offset;
            _values[e] = values[e];
            ReadOnlySpan<byte> key = keys[e];
            int slot = (int)Hash(key) & _mask;
            while (_slots[slot] != 0)
            {
                if (KeyOf(_slots[slot] - 1).SequenceEqual(key) && duplicate < 0) duplicate = e;
                slot = (slot + 1) & _mask;
            }
            _slots[slot] = e + 1;
        }
    }

    public int Count => _values.Length;

    /// <summary>The value stored for <paramref name="key"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(ReadOnlySpan<byte> key)
    {
        int slot = (int)Hash(key) & _mask;
        ref byte keys = ref MemoryMarshal.GetArrayDataReference(_keys);
        while (true)
        {
            int entry = _slots[slot] - 1;
            if (entry < 0) return -1;
            int start = _keyStart[entry];
            if (_keyStart[entry + 1] - start == key.Length
                && MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref keys, start), key.Length).SequenceEqual(key))
                return _values[entry];
            slot = (slot + 1) & _mask;
        }
    }

    private ReadOnlySpan<byte> KeyOf(int entry) => _keys.AsSpan(_keyStart[entry], _keyStart[entry + 1] - _keyStart[entry]);

    /// <summary>A fast 64-bit multiply-mix hash over 8-byte words (keys are mostly under 8 bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Hash(ReadOnlySpan<byte> key)
    {
        const ulong K = 0x9E3779B97F4A7C15UL;
        ulong h = (ulong)key.Length * K;
        int i = 0;
        for (; i + 8 <= key.Length; i += 8)
            h = (BitOperations.RotateLeft(h, 23) ^ BinaryPrimitives.ReadUInt64LittleEndian(key[i..])) * K;
        if (i < key.Length)
        {
            ulong tail = 0;
            for (int j = key.Length - 1; j >= i; j--) tail = (tail << 8) | key[j];
            h = (BitOperations.RotateLeft(h, 23) ^ tail) * K;
        }
        return (h ^ (h >> 29)) * K >> 32 ^ h;
    }
}
