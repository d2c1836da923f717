namespace Cria.Formats.Gguf;

/// <summary>A GGUF array value: its element type and a typed .NET array of the items
/// (<c>string[]</c>, <c>int[]</c>, <c>float[]</c> …, or <c>GgufArray[]</c> for nested arrays).</summary>
public sealed record GgufArray(GgufValueType ElementType, Array Items)
{
    public int Length => Items.Length;

    /// <summary>An array whose element type follows from <typeparamref name="T"/>: <c>string</c> → String,
    /// <c>uint</c> → UInt32, <c>float</c> → Float32, <see cref="GgufArray"/> → Array (nested), and so on.</summary>
    public static GgufArray Of<T>(params T[] items) => new(GgufValue.TypeOf(typeof(T)), items);

    public override string ToString() => $"[{ElementType} x {Items.Length}]";
}
