using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Cria.Formats.PyTorch;

namespace Cria.Tests.Formats.PyTorch.Support;

/// <summary>Writes zip archives byte by byte the way torch.save does (UTF-8 names, data descriptors, data aligned to
/// 64 bytes by a padding extra field), optionally in zip64 form, with hooks to make any field lie.</summary>
internal sealed class ZipBuilder
{
    public sealed class Entry
    {
        public required string Name { get; init; }
        public required byte[] Data { get; init; }
        public bool Deflate { get; init; }
        /// <summary>Overrides of what the central directory declares.</summary>
        public long? DeclaredSize { get; set; }
        public long? DeclaredCompressedSize { get; set; }
        public long? DeclaredOffset { get; set; }
        public uint? DeclaredCrc { get; set; }
        public ushort? DeclaredMethod { get; set; }
    }

    public List<Entry> Entries { get; } = [];
    public bool Zip64 { get; set; }
    /// <summary>Overrides the entry count of the end record(s).</summary>
    public long? DeclaredCount { get; set; }
    /// <summary>Bytes appended after the end record (a comment the end record does not declare).</summary>
    public byte[] Trailer { get; set; } = [];

    public Entry Add(string name, byte[] data, bool deflate = false)
    {
        var e = new Entry { Name = name, Data = data, Deflate = deflate };
        Entries.Add(e);
        return e;
    }

    public byte[] ToArray()
    {
        var o = new MemoryStream();
        var written = new List<(Entry E, long Offset, byte[] Stored, uint Crc)>();
        foreach (var e in Entries)
        {
            byte[] stored = e.Deflate ? Compress(e.Data) : e.Data;
            uint crc = Crc32.Compute(e.Data);
            long offset = o.Position;
            var name = Encoding.UTF8.GetBytes(e.Name);
            var zip64Extra = Zip64 ? Extra(1, U64(e.Data.Length), U64(stored.Length)) : [];
            // Pad with torch's "FB" extra field so the data starts at a multiple of 64.
            long unpadded = offset + 30 + name.Length + zip64Extra.Length + 4;
            int pad = (int)((64 - unpadded % 64) % 64);
            var padding = Extra(0x4246, new byte[pad]);
            Write(o, U32(0x04034b50), U16(Zip64 ? 45 : 20), U16(0x0808), U16(e.Deflate ? 8 : 0), U32(0), U32(0),
                U32(Zip64 ? uint.MaxValue : 0), U32(Zip64 ? uint.MaxValue : 0), U16(name.Length), U16(zip64Extra.Length + padding.Length),
                name, zip64Extra, padding, stored);
            // Data descriptor: signature, CRC, sizes.
            Write(o, U32(0x08074b50), U32(crc));
            if (Zip64) Write(o, U64(stored.Length), U64(e.Data.Length));
            else Write(o, U32((uint)stored.Length), U32((uint)e.Data.Length));
            written.Add((e, offset, stored, crc));
        }
        long directoryOffset = o.Position;
        foreach (var (e, offset, stored, crc) in written)
        {
            var name = Encoding.UTF8.GetBytes(e.Name);
            long size = e.DeclaredSize ?? e.Data.Length, compressed = e.DeclaredCompressedSize ?? stored.Length, at = e.DeclaredOffset ?? offset;
            var extra = Zip64 ? Extra(1, U64((ulong)size), U64((ulong)compressed), U64((ulong)at)) : [];
            Write(o, U32(0x02014b50), U16(Zip64 ? 45 : 20), U16(Zip64 ? 45 : 20), U16(0x0808), U16(e.DeclaredMethod ?? (ushort)(e.Deflate ? 8 : 0)),
                U32(0), U32(e.DeclaredCrc ?? crc),
                U32(Zip64 ? uint.MaxValue : (uint)compressed), U32(Zip64 ? uint.MaxValue : (uint)size),
                U16(name.Length), U16(extra.Length), U16(0), U16(0), U16(0), U32(0), U32(Zip64 ? uint.MaxValue : (uint)at), name, extra);
        }
        long directorySize = o.Position - directoryOffset;
        long count = DeclaredCount ?? Entries.Count;
        if (Zip64)
        {
            long end64 = o.Position;
            Write(o, U32(0x06064b50), U64(44), U16(45), U16(45), U32(0), U32(0), U64((ulong)count), U64((ulong)count),
                U64((ulong)directorySize), U64((ulong)directoryOffset));
            Write(o, U32(0x07064b50), U32(0), U64((ulong)end64), U32(1));
            Write(o, U32(0x06054b50), U16(0), U16(0), U16(0xFFFF), U16(0xFFFF), U32(uint.MaxValue), U32(uint.MaxValue), U16(0));
        }
        else
        {
            Write(o, U32(0x06054b50), U16(0), U16(0), U16((int)count), U16((int)count), U32((uint)directorySize), U32((uint)directoryOffset), U16(0));
        }
        Write(o, Trailer);
        return o.ToArray();
    }

    private static byte[] Compress(byte[] data)
    {
        var o = new MemoryStream();
        using (var d = new DeflateStream(o, CompressionLevel.Optimal, leaveOpen: true)) d.Write(data);
        return o.ToArray();
    }

    private static byte[] Extra(int id, params byte[][] parts)
    {
        var body = parts.SelectMany(p => p).ToArray();
        return [.. U16(id), .. U16(body.Length), .. body];
    }

    private static void Write(Stream o, params byte[][] parts)
    {
        foreach (var p in parts) o.Write(p);
    }

    public static byte[] U16(int v) { var b = new byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v); return b; }
    public static byte[] U32(uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); return b; }
    public static byte[] U64(ulong v) { var b = new byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); return b; }
    public static byte[] U64(long v) => U64((ulong)v);
}
