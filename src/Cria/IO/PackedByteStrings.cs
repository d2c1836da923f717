using System.Text;

namespace Cria.IO;

/// <summary>Byte strings back to back in one array: a GGUF string array's UTF-8 items, a vocabulary's token bytes.
/// A 128k-token vocabulary and its 280k merges take ~8 MB here against ~30 MB as .NET strings or arrays, and leave
/// nothing for the GC to trace.</summary>
internal sealed class PackedByteStrings
{
    private byte[] _bytes;
    private int[] _ends; // item i is _bytes[(i == 0 ? 0 : _ends[i - 1]).._ends[i]]
    private int _byteCount;

    public PackedByteStrings(int capacity = 16)
    {
        capacity = Math.Clamp(capacity, 1, 1 << 20); // a count in a file is only a hint until the items are read
        _bytes = new byte[capacity * 16];
        _ends = new int[capacity];
    }

    /// <summary>The same strings from .NET strings (metadata built in memory).</summary>
    public static PackedByteStrings From(IReadOnlyList<string> items)
    {
        var list = new PackedByteStrings(items.Count);
        foreach (string s in items) list.Add(Encoding.UTF8.GetBytes(s));
        return list;
    }

    public int Count { get; private set; }

    public ReadOnlySpan<byte> this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
            int start = index == 0 ? 0 : _ends[index - 1];
            return _bytes.AsSpan(start, _ends[index] - start);
        }
    }

    /// <summary>Appends <paramref name="item"/> (for <see cref="GetString"/>, valid UTF-8).</summary>
    public void Add(ReadOnlySpan<byte> item)
    {
        if (item.Length > Array.MaxLength - _byteCount) throw new InvalidOperationException("the strings together are larger than one array can hold");
        if (_byteCount + item.Length > _bytes.Length)
            Array.Resize(ref _bytes, (int)Math.Min(Array.MaxLength, Math.Max(2L * _bytes.Length, _byteCount + item.Length)));
        if (Count == _ends.Length) Array.Resize(ref _ends, (int)Math.Min(Array.MaxLength, 2L * _ends.Length));
        item.CopyTo(_bytes.AsSpan(_byteCount));
        _byteCount += item.Length;
        _ends[Count++] = _byteCount;
    }

    /// <summary>Gives back the room that growing left unused.</summary>
    public void TrimExcess()
    {
        if (_bytes.Length != _byteCount) Array.Resize(ref _bytes, _byteCount);
        if (_ends.Length != Count) Array.Resize(ref _ends, Count);
    }

    public string GetString(int index) => Encoding.UTF8.GetString(this[index]);

    public string[] ToStrings()
    {
        var strings = new string[Count];
        for (int i = 0; i < strings.Length; i++) strings[i] = GetString(i);
        return strings;
    }
}
