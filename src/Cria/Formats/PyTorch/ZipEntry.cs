namespace Cria.Formats.PyTorch;

/// <summary>One record of a zip archive as its central directory describes it (zip64 sizes and offsets resolved),
/// with where its bytes start in the file (after the local header).</summary>
public readonly record struct ZipEntry(
    string Name,
    ushort Method,
    ushort Flags,
    uint Crc32,
    long CompressedSize,
    long UncompressedSize,
    long LocalHeaderOffset,
    long DataOffset)
{
    public const ushort Stored = 0;
    public const ushort Deflated = 8;

    /// <summary>True when the bytes are stored as they are (method 0), so they can be used in place.</summary>
    public bool IsStored => Method == Stored;

    public long DataEnd => DataOffset + CompressedSize;
}
