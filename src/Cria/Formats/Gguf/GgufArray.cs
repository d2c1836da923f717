namespace Cria.Formats.Gguf;

/// <summary>A GGUF array value: its element type and a typed .NET array of the items
/// (<c>string[]</c>, <c>int[]</c>, <c>float[]</c> …, or <c>GgufArray[]</c> for nested arrays).</summary>
public sealed record GgufArray(GgufValueType ElementType, Array Items)
{
    public int Length => Items.Length;

    public override string ToString() => $"[{ElementType} x {Items.Length}]";
}
