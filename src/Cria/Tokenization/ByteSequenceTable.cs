using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Cria.Tokenization;

/// <summary>An immutable hash table from byte sequences to ints (token bytes → rank), built for the BPE hot loop:
/// open addressing with linear probing over 16-byte slots. A key of up to 8 bytes (most tokens) is stored in its
/// slot, so a look-up usually touches one cache line; longer keys live in one shared array. No allocation per look-up.</summary>
internal sealed class ByteSequenceTable
{
    private struct Slot
    {
        public ulong Key;   // the key's bytes, zero-padded, for Length <= 8; else its hash
        public int Length;  // 0 = empty slot
        public int Value;   // for long keys, the value is _longValues[Start] (see below)
    }

    private readonly Slot[] _slots;
    private readonly int _mask;
    private readonly byte[] _longKeys;     // keys over 8 bytes, back to back
    private readonly int[] _longStart;     // long key i is _longKeys[_longStart[i].._longStart[i + 1]]
    private readonly int[] _longValues;

    /// <summary>Builds the table; <paramref name="duplicate"/> receives the index of the first key seen twice, else -1.</summary>
    public ByteSequenceTable(IReadOnlyList<byte[]> keys, IReadOnlyList<int> values, out int duplicate)
    {
        duplicate = -1;
        Count = keys.Count;
        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, keys.Count * 2));
        _slots = new Slot[capacity];
        _mask = capacity - 1;
        long longBytes = 0;
        int longCount = 0;
        foreach (byte[] k in keys)
        {
            if (k.Length == 0) throw new ArgumentException("empty key", nameof(keys));
            if (k.Length > 8)
            {
                longBytes += k.Length;
                longCount++;
            }
        }
        _longKeys = new byte[longBytes];
        _longStart = new int[longCount + 1];
        _longValues = new int[longCount];
        int longIndex = 0, offset = 0;
        for (int e = 0; e < keys.Count; e++)
        {
            ReadOnlySpan<byte> key = keys[e];
            if (Find(key) >= 0)
            {
                if (duplicate < 0) duplicate = e;
                continue;
            }
            ulong hash = Hash(key, out ulong packed);
            int slot = (int)hash & _mask;
            while (_slots[slot].Length != 0) slot = (slot + 1) & _mask;
            if (key.Length <= 8)
            {
                _slots[slot] = new Slot { Key = packed, Length = key.Length, Value = values[e] };
            }
            else
            {
                key.CopyTo(_longKeys.AsSpan(offset));
                _longStart[longIndex] = offset;
                offset += key.Length;
                _longStart[longIndex + 1] = offset;
                _longValues[longIndex] = values[e];
                _slots[slot] = new Slot { Key = hash, Length = key.Length, Value = longIndex };
                longIndex++;
            }
        }
    }

    public int Count { get; }

    /// <summary>The value stored for <paramref name="key"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(ReadOnlySpan<byte> key)
    {
        if (key.IsEmpty) return -1;
        ulong hash = Hash(key, out ulong packed);
        ref Slot slots = ref MemoryMarshal.GetArrayDataReference(_slots);
        int slot = (int)hash & _mask;
        if (key.Length <= 8)
        {
            while (true)
            {
                ref Slot s = ref Unsafe.Add(ref slots, slot);
                if (s.Length == key.Length && s.Key == packed) return s.Value;
                if (s.Length == 0) return -1;
                slot = (slot + 1) & _mask;
            }
        }
        while (true)
        {
            ref Slot s = ref Unsafe.Add(ref slots, slot);
            if (s.Length == key.Length && s.Key == hash && LongKey(s.Value).SequenceEqual(key)) return _longValues[s.Value];
            if (s.Length == 0) return -1;
            slot = (slot + 1) & _mask;
        }
    }

    private ReadOnlySpan<byte> LongKey(int index) => _longKeys.AsSpan(_longStart[index], _longStart[index + 1] - _longStart[index]);

    /// <summary>A 64-bit hash, and for keys of up to 8 bytes the key itself packed little-endian into a ulong.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Hash(ReadOnlySpan<byte> key, out ulong packed)
    {
        const ulong K1 = 0x9E3779B97F4A7C15UL, K2 = 0xC2B2AE3D27D4EB4FUL;
        int n = key.Length;
        ulong h;
        if (n <= 8)
        {
            if (n >= 4)
            {
                ulong lo = BinaryPrimitives.ReadUInt32LittleEndian(key);
                ulong hi = BinaryPrimitives.ReadUInt32LittleEndian(key[(n - 4)..]);
                packed = lo | (hi << (8 * (n - 4))); // the overlapping bytes agree
            }
            else
            {
                packed = key[0] | (n > 1 ? (ulong)key[1] << 8 : 0) | (n > 2 ? (ulong)key[2] << 16 : 0);
            }
            h = (packed ^ ((ulong)n << 59)) * K1;
        }
        else
        {
            packed = 0;
            h = (ulong)n * K2;
            int i = 0;
            for (; i + 8 <= n; i += 8) h = (BitOperations.RotateLeft(h, 27) ^ BinaryPrimitives.ReadUInt64LittleEndian(key[i..])) * K1;
            if (i < n) h = (BitOperations.RotateLeft(h, 27) ^ BinaryPrimitives.ReadUInt64LittleEndian(key[(n - 8)..])) * K1; // the last 8, overlapping
        }
        return (h ^ (h >> 32)) * K2 >> 16;
    }
}
