using Cria.IO;
namespace Cria.Formats.Gguf;

/// <summary>A GGUF array value: its element type and a typed .NET array of the items
/// (<c>string[]</c>, <c>int[]</c>, <c>float[]</c> …, or <c>GgufArray[]</c> for nested arrays). String arrays read
/// from a file stay UTF-8 in one block (<see cref="PackedByteStrings"/>) until <see cref="Items"/> is first asked for.</summary>
public sealed class GgufArray
{
    private Array? _items;
    private readonly PackedByteStrings? _utf8;

    public GgufArray(GgufValueType elementType, Array items)
    {
        ElementType = elementType;
        _items = items;
    }

    internal GgufArray(PackedByteStrings strings)
    {
        ElementType = GgufValueType.String;
        _utf8 = strings;
    }

    public GgufValueType ElementType { get; }

    /// <summary>The items as a .NET array (for strings read from a file, made on first use).</summary>
    public Array Items => _items ??= _utf8!.ToStrings(); // a race makes two equal arrays; either is fine

    public int Length => _utf8?.Count ?? _items!.Length;

    /// <summary>Item <paramref name="index"/>, boxed (strings read from a file are decoded one at a time).</summary>
    public object Item(int index) => _items == null ? _utf8!.GetString(index) : _items.GetValue(index)!;

    /// <summary>A string array's items as UTF-8, without making a string per item.</summary>
    internal PackedByteStrings? Utf8Strings => _utf8 ?? (_items is string[] s ? PackedByteStrings.From(s) : null);

    /// <summary>An array whose element type follows from <typeparamref name="T"/>: <c>string</c> → String,
    /// <c>uint</c> → UInt32, <c>float</c> → Float32, <see cref="GgufArray"/> → Array (nested), and so on.</summary>
    public static GgufArray Of<T>(params T[] items) => new(GgufValue.TypeOf(typeof(T)), items);

    public override string ToString() => $"[{ElementType} x {Length}]";
}
