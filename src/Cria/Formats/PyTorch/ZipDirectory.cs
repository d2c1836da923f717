using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Cria.IO;

namespace Cria.Formats.PyTorch;

/// <summary>The entries of a zip archive held in a memory map, read from its central directory (zip64 aware) with
/// limits: a bounded number of entries and name lengths, every entry's local header present and agreeing with the
/// central directory, every entry's bytes inside the file, and no two entries sharing bytes (the trick of
/// overlapping zip bombs). <see cref="System.IO.Compression.ZipArchive"/> does not expose where an entry's data
/// starts, which using tensors in place needs, so the directory is read here and only inflating uses the framework.</summary>
public sealed unsafe class ZipDirectory
{
    /// <summary>Most entries accepted: a checkpoint has one per storage (a few thousand for the largest models).</summary>
    public const int MaxEntries = 1 << 16;
    public const int MaxNameBytes = 1024;

    private const uint LocalHeaderSignature = 0x04034b50;
    private const uint CentralHeaderSignature = 0x02014b50;
    private const uint EndSignature = 0x06054b50;
    private const uint Zip64EndSignature = 0x06064b50;
    private const uint Zip64LocatorSignature = 0x07064b50;
    private const int EndBytes = 22, Zip64LocatorBytes = 20, Zip64EndBytes = 56, CentralHeaderBytes = 46, LocalHeaderBytes = 30;

    private readonly MappedFile _file;
    private readonly Dictionary<string, ZipEntry> _byName;

    public string Source { get; }
    /// <summary>Entries in central-directory order.</summary>
    public IReadOnlyList<ZipEntry> Entries { get; }

    private ZipDirectory(MappedFile file, string source, List<ZipEntry> entries, Dictionary<string, ZipEntry> byName)
    {
        _file = file;
        Source = source;
        Entries = entries;
        _byName = byName;
    }

    public bool TryGet(string name, out ZipEntry entry) => _byName.TryGetValue(name, out entry);

    /// <summary>Reads the directory of the zip archive in <paramref name="file"/>; errors name <paramref name="source"/>.</summary>
    public static ZipDirectory Read(MappedFile file, string source)
    {
        var reader = new Reader(file, source);
        var (count, directoryOffset, directorySize) = reader.FindDirectory();
        var entries = new List<ZipEntry>(count);
        var byName = new Dictionary<string, ZipEntry>(count, StringComparer.Ordinal);
        long position = directoryOffset;
        for (int i = 0; i < count; i++)
        {
            var entry = reader.CentralEntry(ref position, directoryOffset + directorySize, i);
            if (!byName.TryAdd(entry.Name, entry)) throw reader.Error($"entry '{entry.Name}' appears twice");
            entries.Add(entry);
        }
        if (position != directoryOffset + directorySize)
            throw reader.Error($"the central directory holds {directoryOffset + directorySize - position} bytes after its {count} entries");
        CheckDisjoint(entries, directoryOffset, reader);
        return new ZipDirectory(file, source, entries, byName);
    }

    // Entries precede the central directory and never share bytes: each one's header and data end before the next begins.
    private static void CheckDisjoint(List<ZipEntry> entries, long directoryOffset, Reader reader)
    {
        var byOffset = entries.OrderBy(e => e.LocalHeaderOffset).ToArray();
        for (int i = 0; i < byOffset.Length; i++)
        {
            var e = byOffset[i];
            if (e.DataOffset > directoryOffset || e.CompressedSize > directoryOffset - e.DataOffset)
                throw reader.Error($"entry '{e.Name}' ({e.CompressedSize} bytes at offset {e.DataOffset}) runs into the central directory at {directoryOffset}");
            if (i + 1 < byOffset.Length && e.DataEnd > byOffset[i + 1].LocalHeaderOffset)
                throw reader.Error($"entries '{e.Name}' and '{byOffset[i + 1].Name}' overlap (a malformed or malicious zip)");
        }
    }

    /// <summary>The whole content of a small entry (such as data.pkl), stored or deflated, refusing one that declares
    /// or inflates to more than <paramref name="maxBytes"/>, and checking its CRC-32.</summary>
    public byte[] ReadAll(ZipEntry entry, int maxBytes)
    {
        if (entry.UncompressedSize > maxBytes)
            throw new ModelFormatException($"{Source}: '{entry.Name}' declares {entry.UncompressedSize:N0} bytes, more than the {maxBytes:N0} Cria reads for it " +
                                           "(not a checkpoint's record, or a zip bomb)");
        var data = new byte[entry.UncompressedSize];
        if (entry.Method == ZipEntry.Stored)
        {
            if (entry.CompressedSize != entry.UncompressedSize)
                throw new ModelFormatException($"{Source}: stored entry '{entry.Name}' has compressed size {entry.CompressedSize} but size {entry.UncompressedSize}");
            _file.Span(entry.DataOffset, data.Length).CopyTo(data);
        }
        else if (entry.Method == ZipEntry.Deflated)
        {
            Inflate(entry, data);
        }
        else
        {
            throw new ModelFormatException($"{Source}: '{entry.Name}' uses compression method {entry.Method}; only stored (0) and deflated (8) are supported");
        }
        uint crc = Crc32.Compute(data);
        if (crc != entry.Crc32)
            throw new ModelFormatException($"{Source}: '{entry.Name}' is corrupt (CRC-32 {crc:x8}, the directory says {entry.Crc32:x8})");
        return data;
    }

    private void Inflate(ZipEntry entry, byte[] data)
    {
        using var compressed = new UnmanagedMemoryStream(_file.Pointer + entry.DataOffset, entry.CompressedSize);
        using var inflater = new DeflateStream(compressed, CompressionMode.Decompress);
        try
        {
            int total = 0;
            while (total < data.Length)
            {
                int n = inflater.Read(data, total, data.Length - total);
                if (n == 0)
                    throw new ModelFormatException($"{Source}: '{entry.Name}' inflates to {total} bytes but declares {entry.UncompressedSize}");
                total += n;
            }
            Span<byte> extra = stackalloc byte[1];
            if (inflater.Read(extra) != 0)
                throw new ModelFormatException($"{Source}: '{entry.Name}' inflates to more than the {entry.UncompressedSize} bytes it declares (a zip bomb?)");
        }
        catch (InvalidDataException e)
        {
            throw new ModelFormatException($"{Source}: '{entry.Name}' is not valid deflate data: {e.Message}", e);
        }
    }

    /// <summary>Bounds-checked little-endian reads of the zip structures, with errors that name the file.</summary>
    private sealed class Reader(MappedFile file, string source)
    {
        public ModelFormatException Error(string what) => new($"{source}: {what}");

        private ReadOnlySpan<byte> Bytes(long offset, long length, string what)
        {
            if (offset < 0 || length < 0 || offset > file.Length || length > file.Length - offset)
                throw Error($"truncated or corrupt: {what} ({length} bytes at offset {offset}) lies outside the file ({file.Length} bytes)");
            return new ReadOnlySpan<byte>(file.Pointer + offset, (int)length);
        }

        /// <summary>Finds the end record (and the zip64 one when present): entry count and where the directory lies.</summary>
        public (int Count, long Offset, long Size) FindDirectory()
        {
            if (file.Length < EndBytes) throw Error($"{file.Length} bytes is too short for a zip file");
            long end = -1;
            long lowest = Math.Max(0, file.Length - EndBytes - ushort.MaxValue);
            for (long p = file.Length - EndBytes; p >= lowest; p--)
            {
                var record = Bytes(p, EndBytes, "end record");
                if (BinaryPrimitives.ReadUInt32LittleEndian(record) == EndSignature && p + EndBytes + BinaryPrimitives.ReadUInt16LittleEndian(record[20..]) == file.Length)
                {
                    end = p;
                    break;
                }
            }
            if (end < 0)
                throw Error("no end-of-central-directory record: the file is truncated or is not a zip archive");
            var e = Bytes(end, EndBytes, "end record");
            int disk = BinaryPrimitives.ReadUInt16LittleEndian(e[4..]), directoryDisk = BinaryPrimitives.ReadUInt16LittleEndian(e[6..]);
            long entriesOnDisk = BinaryPrimitives.ReadUInt16LittleEndian(e[8..]), count = BinaryPrimitives.ReadUInt16LittleEndian(e[10..]);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(e[12..]), offset = BinaryPrimitives.ReadUInt32LittleEndian(e[16..]);
            long directoryEnd = end;

            if (end >= Zip64LocatorBytes && BinaryPrimitives.ReadUInt32LittleEndian(Bytes(end - Zip64LocatorBytes, 4, "zip64 locator")) == Zip64LocatorSignature)
            {
                var locator = Bytes(end - Zip64LocatorBytes, Zip64LocatorBytes, "zip64 locator");
                long zip64End = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(locator[8..]), long.MaxValue);
                if (BinaryPrimitives.ReadUInt32LittleEndian(locator[16..]) > 1) throw Error("multi-disk zip archives are not supported");
                if (zip64End > end - Zip64LocatorBytes - Zip64EndBytes)
                    throw Error($"the zip64 end record offset {zip64End} is outside the file");
                var z = Bytes(zip64End, Zip64EndBytes, "zip64 end record");
                if (BinaryPrimitives.ReadUInt32LittleEndian(z) != Zip64EndSignature) throw Error($"no zip64 end record at offset {zip64End}");
                disk = (int)BinaryPrimitives.ReadUInt32LittleEndian(z[16..]);
                directoryDisk = (int)BinaryPrimitives.ReadUInt32LittleEndian(z[20..]);
                entriesOnDisk = Clamp(BinaryPrimitives.ReadUInt64LittleEndian(z[24..]));
                count = Clamp(BinaryPrimitives.ReadUInt64LittleEndian(z[32..]));
                size = Clamp(BinaryPrimitives.ReadUInt64LittleEndian(z[40..]));
                offset = Clamp(BinaryPrimitives.ReadUInt64LittleEndian(z[48..]));
                directoryEnd = zip64End;
            }
            else if (count == ushort.MaxValue || size == uint.MaxValue || offset == uint.MaxValue)
            {
                throw Error("the end record asks for zip64 but there is no zip64 locator (truncated?)");
            }
            if (disk != 0 || directoryDisk != 0 || entriesOnDisk != count) throw Error("multi-disk zip archives are not supported");
            if (count > MaxEntries)
                throw Error($"{count:N0} entries is more than the {MaxEntries:N0} Cria accepts (a checkpoint has one per storage)");
            if (offset > directoryEnd || size > directoryEnd - offset)
                throw Error($"the central directory ({size} bytes at offset {offset}) lies outside the file before its end record at {directoryEnd}");
            if (size < (long)count * CentralHeaderBytes)
                throw Error($"the central directory ({size} bytes) is too small for {count} entries");
            return ((int)count, offset, size);
        }

        private static long Clamp(ulong value) => (long)Math.Min(value, long.MaxValue);

        /// <summary>Reads the central record at <paramref name="position"/> and its local header.</summary>
        public ZipEntry CentralEntry(ref long position, long directoryEnd, int index)
        {
            if (directoryEnd - position < CentralHeaderBytes) throw Error($"central directory entry {index} is truncated");
            var h = Bytes(position, CentralHeaderBytes, $"central directory entry {index}");
            if (BinaryPrimitives.ReadUInt32LittleEndian(h) != CentralHeaderSignature)
                throw Error($"central directory entry {index} at offset {position} has no signature");
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(h[8..]);
            ushort method = BinaryPrimitives.ReadUInt16LittleEndian(h[10..]);
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(h[16..]);
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
            long uncompressed = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(h[30..]);
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(h[32..]);
            int diskStart = BinaryPrimitives.ReadUInt16LittleEndian(h[34..]);
            long localOffset = BinaryPrimitives.ReadUInt32LittleEndian(h[42..]);
            long recordBytes = CentralHeaderBytes + nameLength + extraLength + commentLength;
            if (directoryEnd - position < recordBytes) throw Error($"central directory entry {index} runs past the end of the directory");
            if (nameLength == 0 || nameLength > MaxNameBytes) throw Error($"central directory entry {index} has a name of {nameLength} bytes");
            var nameBytes = Bytes(position + CentralHeaderBytes, nameLength, "entry name");
            string name = Encoding.UTF8.GetString(nameBytes);
            if (name.Any(char.IsControl)) throw Error($"central directory entry {index} has a name with control characters");
            var extra = Bytes(position + CentralHeaderBytes + nameLength, extraLength, "entry extra field");
            ReadZip64Extra(extra, name, ref uncompressed, ref compressed, ref localOffset, ref diskStart);
            if (diskStart != 0) throw Error($"entry '{name}' starts on disk {diskStart}: multi-disk zip archives are not supported");
            if ((flags & 1) != 0) throw Error($"entry '{name}' is encrypted");
            position += recordBytes;
            long dataOffset = LocalData(localOffset, name, nameBytes, method);
            return new ZipEntry(name, method, flags, crc, compressed, uncompressed, localOffset, dataOffset);
        }

        // The zip64 extra field (id 1) holds, in this order, whichever of the sizes and offset were saturated.
        private void ReadZip64Extra(ReadOnlySpan<byte> extra, string name, ref long uncompressed, ref long compressed, ref long offset, ref int disk)
        {
            bool needed = uncompressed == uint.MaxValue || compressed == uint.MaxValue || offset == uint.MaxValue || disk == ushort.MaxValue;
            while (extra.Length >= 4)
            {
                int id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
                int length = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
                if (length > extra.Length - 4) throw Error($"entry '{name}' has a malformed extra field");
                var data = extra.Slice(4, length);
                if (id == 1)
                {
                    int at = 0;
                    if (uncompressed == uint.MaxValue) uncompressed = Zip64Value(data, ref at, name);
                    if (compressed == uint.MaxValue) compressed = Zip64Value(data, ref at, name);
                    if (offset == uint.MaxValue) offset = Zip64Value(data, ref at, name);
                    if (disk == ushort.MaxValue)
                    {
                        if (data.Length - at < 4) throw Error($"entry '{name}' has a truncated zip64 extra field");
                        disk = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(data[at..]), int.MaxValue);
                    }
                    needed = false;
                }
                extra = extra[(4 + length)..];
            }
            if (needed) throw Error($"entry '{name}' needs a zip64 extra field but has none");
        }

        private long Zip64Value(ReadOnlySpan<byte> data, ref int at, string name)
        {
            if (data.Length - at < 8) throw Error($"entry '{name}' has a truncated zip64 extra field");
            long value = Clamp(BinaryPrimitives.ReadUInt64LittleEndian(data[at..]));
            at += 8;
            return value;
        }

        // Data starts after the local header, whose name must be the central directory's.
        private long LocalData(long localOffset, string name, ReadOnlySpan<byte> nameBytes, ushort method)
        {
            var h = Bytes(localOffset, LocalHeaderBytes, $"local header of '{name}'");
            if (BinaryPrimitives.ReadUInt32LittleEndian(h) != LocalHeaderSignature)
                throw Error($"entry '{name}' has no local header at offset {localOffset}");
            if (BinaryPrimitives.ReadUInt16LittleEndian(h[8..]) != method)
                throw Error($"entry '{name}': the local header and the central directory disagree on the compression method");
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(h[26..]);
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
            if (!Bytes(localOffset + LocalHeaderBytes, nameLength, $"local header of '{name}'").SequenceEqual(nameBytes))
                throw Error($"entry '{name}': the local header names a different entry");
            long dataOffset = localOffset + LocalHeaderBytes + nameLength + extraLength;
            if (dataOffset > file.Length) throw Error($"entry '{name}': its local header runs past the end of the file");
            return dataOffset;
        }
    }
}
