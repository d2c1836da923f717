using Cria.IO;
using Cria.Tensors;

namespace Cria.Formats.Gguf;

/// <summary>What a GGUF header says: version, alignment, where data starts, metadata and the tensor directory.</summary>
internal sealed record GgufHeader(uint Version, int Alignment, long DataOffset, GgufMetadata Metadata, List<GgufTensorInfo> Tensors);

/// <summary>Parses and validates a GGUF header held in memory (a mapped file or a test buffer). Every count, length
/// and offset is checked against the bytes that are really there before anything is allocated for it, so a hostile
/// file fails fast with a <see cref="ModelFormatException"/> instead of hanging or exhausting memory.</summary>
internal static unsafe class GgufParser
{
    /// <summary>Parses a header from a managed buffer (tests and tools); <paramref name="name"/> appears in errors.</summary>
    public static GgufHeader Parse(ReadOnlySpan<byte> bytes, string name)
    {
        fixed (byte* p = bytes) return Parse(p, bytes.Length, name);
    }

    public static GgufHeader Parse(byte* start, long length, string path) => Parse(start, length, length, path, null);

    /// <summary>Parses the header of a file of <paramref name="length"/> bytes whose first <paramref name="available"/>
    /// are at <paramref name="start"/>; <paramref name="more"/> reads further ones there as the header needs them.</summary>
    public static GgufHeader Parse(byte* start, long available, long length, string path, GgufCursor.MoreBytes? more)
    {
        var c = new GgufCursor(start, available, length, path, more);
        if (length == 0) throw c.Error("the file is empty");
        if (length < 4 || c.U32("magic") != GgufFile.Magic) throw c.Error("not a GGUF file (no 'GGUF' magic at the start)");
        uint version = c.U32("version");
        if (version == 1) throw c.Error("GGUF version 1 is obsolete and not supported; re-convert the model with a current llama.cpp");
        if (version is 0x02000000 or 0x03000000) throw c.Error("big-endian GGUF files are not supported");
        if (version is not (2 or 3)) throw c.Error($"unsupported GGUF version {version} (supported: 2, 3)");

        // A tensor entry takes at least 8 (name length) + 4 (dims) + 8 (one dim) + 4 (type) + 8 (offset) bytes.
        long tensorCount = c.Count("tensor count", 32);
        // A key/value takes at least 8 (key length) + 4 (type) + 1 (smallest value) bytes.
        long kvCount = c.Count("metadata count", 13);

        var metadata = new List<KeyValuePair<string, GgufValue>>((int)Math.Min(kvCount, 1024));
        var seenKeys = new HashSet<string>();
        for (long i = 0; i < kvCount; i++)
        {
            string key = c.String($"metadata key #{i}");
            if (!seenKeys.Add(key)) throw c.Error($"duplicate metadata key '{key}'");
            var type = (GgufValueType)c.U32($"type of '{key}'");
            metadata.Add(new(key, ReadValue(ref c, type, key)));
        }
        var meta = new GgufMetadata(metadata);
        int alignment = ReadAlignment(ref c, meta);

        var tensors = new List<GgufTensorInfo>((int)Math.Min(tensorCount, 1024));
        var names = new HashSet<string>();
        for (long i = 0; i < tensorCount; i++)
        {
            var tensor = ReadTensorInfo(ref c, i, alignment);
            if (!names.Add(tensor.Name)) throw c.Error($"duplicate tensor name '{tensor.Name}'");
            tensors.Add(tensor);
        }

        long dataOffset = GgufLayout.AlignUp(c.Position, alignment);
        long dataLength = length - dataOffset;
        foreach (var t in tensors)
        {
            if (t.Offset > dataLength || t.ByteSize > dataLength - t.Offset)
                throw c.Error($"tensor '{t.Name}' ({t.ShapeText} {t.Type}, {t.ByteSize} bytes at data offset {t.Offset}) " +
                              $"runs past the end of the file (data section holds {Math.Max(0, dataLength)} bytes): the file is truncated or corrupt");
        }
        CheckNoOverlap(ref c, tensors);
        return new GgufHeader(version, alignment, dataOffset, meta, tensors);
    }

    private static int ReadAlignment(ref GgufCursor c, GgufMetadata meta)
    {
        if (!meta.TryGet(GgufLayout.AlignmentKey, out var value)) return GgufLayout.DefaultAlignment;
        if (value.Value is not uint a || !GgufLayout.IsValidAlignment(a))
            throw c.Error($"{GgufLayout.AlignmentKey} must be a power-of-two uint32 no larger than {GgufLayout.MaxAlignment}, " +
                          $"got {value.Display()} ({value.Type})");
        return (int)a;
    }

    private static GgufTensorInfo ReadTensorInfo(ref GgufCursor c, long index, int alignment)
    {
        string name = c.String($"name of tensor #{index}");
        uint nDims = c.U32($"dimension count of tensor '{name}'");
        if (nDims is 0 or > GgufLayout.MaxDimensions)
            throw c.Error($"tensor '{name}' has {nDims} dimensions (1 to {GgufLayout.MaxDimensions} allowed)");
        var dims = new long[nDims];
        for (int d = 0; d < nDims; d++)
        {
            ulong dim = c.U64($"dimension {d} of tensor '{name}'");
            if (dim > GgufLayout.MaxDimension) throw c.Error($"tensor '{name}' dimension {d} is {dim}, which is absurd");
            dims[d] = (long)dim;
        }
        uint typeId = c.U32($"type of tensor '{name}'");
        if (!TensorTypeInfo.TryGet((GgmlType)typeId, out var typeInfo))
            throw c.Error($"tensor '{name}' has unknown type id {typeId}");
        if (GgufLayout.ByteSizeError(dims, typeInfo, out long size) is { } problem)
            throw c.Error($"tensor '{name}' ({string.Join(" x ", dims)} {typeInfo.Name}): {problem}");
        ulong offset = c.U64($"offset of tensor '{name}'");
        if (offset % (ulong)alignment != 0)
            throw c.Error($"tensor '{name}' offset {offset} is not a multiple of the alignment {alignment}");
        if (offset > long.MaxValue) throw c.Error($"tensor '{name}' offset {offset} is past the end of the file");
        return new GgufTensorInfo(name, dims, (GgmlType)typeId, (long)offset, size);
    }

    private static void CheckNoOverlap(ref GgufCursor c, List<GgufTensorInfo> tensors)
    {
        var sorted = tensors.Where(t => t.ByteSize > 0).OrderBy(t => t.Offset).ToList();
        for (int i = 1; i < sorted.Count; i++)
            if (sorted[i].Offset < sorted[i - 1].Offset + sorted[i - 1].ByteSize)
                throw c.Error($"tensors '{sorted[i - 1].Name}' and '{sorted[i].Name}' overlap in the data section");
    }

    private static GgufValue ReadValue(ref GgufCursor c, GgufValueType type, string key)
    {
        string field = $"metadata '{key}'";
        object value = type switch
        {
            GgufValueType.UInt8 => c.U8(field),
            GgufValueType.Int8 => c.I8(field),
            GgufValueType.UInt16 => c.U16(field),
            GgufValueType.Int16 => c.I16(field),
            GgufValueType.UInt32 => c.U32(field),
            GgufValueType.Int32 => c.I32(field),
            GgufValueType.Float32 => c.F32(field),
            GgufValueType.Bool => c.Bool(field),
            GgufValueType.String => c.String(field),
            GgufValueType.UInt64 => c.U64(field),
            GgufValueType.Int64 => c.I64(field),
            GgufValueType.Float64 => c.F64(field),
            GgufValueType.Array => ReadArray(ref c, key, 0),
            _ => throw c.Error($"metadata '{key}' has unknown value type {(uint)type}"),
        };
        return new GgufValue(type, value);
    }

    /// <summary>Reads element type, count and items. Items of a nested array are themselves (element type, count, items)
    /// with no type tag of their own, as gguf-py writes them (ggml's C reader rejects nested arrays altogether).</summary>
    private static GgufArray ReadArray(ref GgufCursor c, string key, int depth)
    {
        if (depth >= GgufLayout.MaxArrayNesting) throw c.Error($"metadata '{key}' nests arrays more than {GgufLayout.MaxArrayNesting} deep");
        var elementType = (GgufValueType)c.U32($"element type of '{key}'");
        long minBytes = GgufLayout.MinEncodedSize(elementType);
        if (minBytes == 0) throw c.Error($"metadata '{key}' is an array of unknown type {(uint)elementType}");
        long count = c.Count($"length of array '{key}'", minBytes);
        if (count > Array.MaxLength) throw c.Error($"array '{key}' has {count} items, more than .NET arrays can hold");
        int n = (int)count;
        string item = $"item of array '{key}'";
        Array? items = elementType switch
        {
            GgufValueType.UInt8 => Fill(n, ref c, item, static (ref GgufCursor r, string k) => r.U8(k)),
            GgufValueType.Int8 => Fill(n, ref c, item, static (ref GgufCursor r, string k) => r.I8(k)),
            GgufValueType.UInt16 => Fill(n, ref c, item, static (ref GgufCursor r, string k) => r.U16(k)),
            GgufValueType.Int16 => Fill(n, ref c, item, static (ref GgufCursor r, string k) => r.I16(k)),
            GgufValueType.UInt32 => Fill(n, ref c, item, static (ref GgufCursor r, string k) => r.U32(k)),
            GgufValueType.Int32 => Fill(n, ref c, item, static (ref GgufCursor r, string k) => r.I32(k)),
            GgufValueType.Float32 => Fill(n, ref c, item, static (ref GgufCursor r, string k) => r.F32(k)),
            GgufValueType.Bool => Fill(n, ref c, item, static (ref GgufCursor r, string k) => r.Bool(k)),
            GgufValueType.String => null,
            GgufValueType.UInt64 => Fill(n, ref c, item, static (ref GgufCursor r, string k) => r.U64(k)),
            GgufValueType.Int64 => Fill(n, ref c, item, static (ref GgufCursor r, string k) => r.I64(k)),
            GgufValueType.Float64 => Fill(n, ref c, item, static (ref GgufCursor r, string k) => r.F64(k)),
            _ => FillGrowing(n, ref c, key, (ref GgufCursor r, string k, int _) => ReadArray(ref r, k, depth + 1)),
        };
        return items != null ? new GgufArray(elementType, items) : new GgufArray(ReadStrings(ref c, n, item));
    }

    // Kept as UTF-8 in one block: a vocabulary's strings would otherwise be ~400k objects.
    private static PackedByteStrings ReadStrings(ref GgufCursor c, int n, string item)
    {
        var strings = new PackedByteStrings(Math.Min(n, 4096));
        for (int i = 0; i < n; i++)
        {
            var bytes = c.StringBytes(item);
            try
            {
                strings.Add(bytes);
            }
            catch (InvalidOperationException e)
            {
                throw c.Error($"{item} #{i}: {e.Message}");
            }
        }
        strings.TrimExcess();
        return strings;
    }

    private delegate T ItemReader<T>(ref GgufCursor c, string key);
    private delegate T SizedItemReader<T>(ref GgufCursor c, string key, int index);

    // Fixed-size items: Count already proved all n of them are in the file, so allocate once.
    private static T[] Fill<T>(int n, ref GgufCursor c, string key, ItemReader<T> read)
    {
        var items = new T[n];
        for (int i = 0; i < n; i++) items[i] = read(ref c, key);
        return items;
    }

    // Variable-size items (strings, arrays): grow as they are read, so a hostile count costs nothing up front.
    private static T[] FillGrowing<T>(int n, ref GgufCursor c, string key, SizedItemReader<T> read)
    {
        var items = new T[Math.Min(n, 4096)];
        for (int i = 0; i < n; i++)
        {
            if (i == items.Length) Array.Resize(ref items, (int)Math.Min(2L * items.Length, n));
            items[i] = read(ref c, key, i);
        }
        return items;
    }
}
