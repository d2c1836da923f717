using Cria.IO;
using Cria.Tensors;

namespace Cria.Formats.Gguf;

/// <summary>A GGUF file (versions 2 and 3): its metadata, its tensor directory, and the tensor data,
/// memory-mapped and used in place. See https://github.com/ggml-org/ggml/blob/master/docs/gguf.md.</summary>
public sealed unsafe class GgufFile : IDisposable
{
    public const uint Magic = 0x46554747; // "GGUF" little-endian
    public const int DefaultAlignment = 32;
    private const int MaxNesting = 8;      // arrays of arrays deeper than this are hostile, not useful
    private const int MaxDimensions = 4;   // GGML_MAX_DIMS

    private readonly MappedFile _file;
    private readonly Dictionary<string, GgufTensorInfo> _tensorsByName;

    public string Path => _file.Path;
    public uint Version { get; }
    public int Alignment { get; }
    /// <summary>Absolute file offset where tensor data starts.</summary>
    public long DataOffset { get; }
    public GgufMetadata Metadata { get; }
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }
    public long FileLength => _file.Length;

    private GgufFile(MappedFile file, uint version, int alignment, long dataOffset, GgufMetadata metadata, List<GgufTensorInfo> tensors)
    {
        _file = file;
        Version = version;
        Alignment = alignment;
        DataOffset = dataOffset;
        Metadata = metadata;
        Tensors = tensors;
        _tensorsByName = tensors.ToDictionary(t => t.Name);
    }

    /// <summary>True if the file starts with the GGUF magic.</summary>
    public static bool HasMagic(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> head = stackalloc byte[4];
        return stream.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 && BitConverter.ToUInt32(head) == Magic;
    }

    /// <summary>Maps and parses <paramref name="path"/>; throws <see cref="ModelFormatException"/> naming what is wrong.</summary>
    public static GgufFile Open(string path)
    {
        var file = MappedFile.Open(path);
        try
        {
            return Parse(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static GgufFile Parse(MappedFile file)
    {
        var c = new GgufCursor(file.Pointer, file.Length, file.Path);
        if (file.Length < 4 || c.U32("magic") != Magic) throw c.Error("not a GGUF file (no 'GGUF' magic at the start)");
        uint version = c.U32("version");
        if (version == 1) throw c.Error("GGUF version 1 is obsolete and not supported; re-convert the model with a current llama.cpp");
        if (version is 0x02000000 or 0x03000000) throw c.Error("big-endian GGUF files are not supported");
        if (version is not (2 or 3)) throw c.Error($"unsupported GGUF version {version} (supported: 2, 3)");

        // A tensor entry takes at least 8 (name length) + 4 (dims) + 8 (one dim) + 4 (type) + 8 (offset) bytes.
        long tensorCount = c.Count("tensor count", 32);
        long kvCount = c.Count("metadata count", 12);

        var metadata = new List<KeyValuePair<string, GgufValue>>((int)Math.Min(kvCount, 4096));
        var seenKeys = new HashSet<string>();
        for (long i = 0; i < kvCount; i++)
        {
            string key = c.String($"metadata key #{i}");
            if (!seenKeys.Add(key)) throw c.Error($"duplicate metadata key '{key}'");
            var type = (GgufValueType)c.U32($"type of '{key}'");
            metadata.Add(new(key, ReadValue(ref c, type, key, 0)));
        }
        var meta = new GgufMetadata(metadata);

        int alignment = DefaultAlignment;
        if (meta.TryGet("general.alignment", out var alignValue))
        {
            if (alignValue.Type != GgufValueType.UInt32 || !alignValue.TryGetInt64(out long a) || a <= 0 || a > 1 << 20 || (a & (a - 1)) != 0)
                throw c.Error($"general.alignment must be a power-of-two uint32, got {alignValue.Display()} ({alignValue.Type})");
            alignment = (int)a;
        }

        var infos = new List<(string Name, long[] Dims, GgmlType Type, long Offset, long Size)>((int)Math.Min(tensorCount, 65536));
        var names = new HashSet<string>();
        for (long i = 0; i < tensorCount; i++)
        {
            string name = c.String($"name of tensor #{i}");
            if (!names.Add(name)) throw c.Error($"duplicate tensor name '{name}'");
            uint nDims = c.U32($"dimension count of tensor '{name}'");
            if (nDims is 0 or > MaxDimensions) throw c.Error($"tensor '{name}' has {nDims} dimensions (1 to {MaxDimensions} allowed)");
            var dims = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++)
            {
                ulong dim = c.U64($"dimension {d} of tensor '{name}'");
                if (dim > int.MaxValue * 64UL)
                    throw c.Error($"tensor '{name}' dimension {d} is {dim}, which is absurd");
                dims[d] = (long)dim;
                if (dims[d] != 0 && elements > long.MaxValue / dims[d])
                    throw c.Error($"tensor '{name}' has too many elements ({string.Join(" x ", dims.Take(d + 1))})");
                elements *= dims[d];
            }
            uint typeId = c.U32($"type of tensor '{name}'");
            if (!TensorTypeInfo.TryGet((GgmlType)typeId, out var typeInfo))
                throw c.Error($"tensor '{name}' has unknown type id {typeId}");
            if (dims[0] % typeInfo.BlockElements != 0)
                throw c.Error($"tensor '{name}' rows of {dims[0]} elements are not a whole number of {typeInfo.Name} blocks ({typeInfo.BlockElements})");
            long size = elements / typeInfo.BlockElements * typeInfo.BlockBytes;
            ulong offset = c.U64($"offset of tensor '{name}'");
            if (offset % (ulong)alignment != 0)
                throw c.Error($"tensor '{name}' offset {offset} is not a multiple of the alignment {alignment}");
            if (offset > (ulong)long.MaxValue) throw c.Error($"tensor '{name}' offset {offset} is past the end of the file");
            infos.Add((name, dims, (GgmlType)typeId, (long)offset, size));
        }

        long dataOffset = AlignUp(c.Position, alignment);
        long dataLength = file.Length - dataOffset;
        var tensors = new List<GgufTensorInfo>(infos.Count);
        foreach (var t in infos)
        {
            if (t.Offset > dataLength || t.Size > dataLength - t.Offset)
                throw c.Error($"tensor '{t.Name}' ({string.Join(" x ", t.Dims)} {t.Type}, {t.Size} bytes at data offset {t.Offset}) " +
                              $"runs past the end of the file (data section holds {Math.Max(0, dataLength)} bytes): the file is truncated or corrupt");
            tensors.Add(new GgufTensorInfo(t.Name, t.Dims, t.Type, t.Offset, t.Size));
        }
        CheckNoOverlap(ref c, tensors);
        return new GgufFile(file, version, alignment, dataOffset, meta, tensors);
    }

    private static void CheckNoOverlap(ref GgufCursor c, List<GgufTensorInfo> tensors)
    {
        var sorted = tensors.Where(t => t.ByteSize > 0).OrderBy(t => t.Offset).ToList();
        for (int i = 1; i < sorted.Count; i++)
            if (sorted[i].Offset < sorted[i - 1].Offset + sorted[i - 1].ByteSize)
                throw c.Error($"tensors '{sorted[i - 1].Name}' and '{sorted[i].Name}' overlap in the data section");
    }

    private static long AlignUp(long value, long alignment) => (value + alignment - 1) / alignment * alignment;

    private static GgufValue ReadValue(ref GgufCursor c, GgufValueType type, string key, int depth)
    {
        object value = type switch
        {
            GgufValueType.UInt8 => c.U8(key),
            GgufValueType.Int8 => c.I8(key),
            GgufValueType.UInt16 => c.U16(key),
            GgufValueType.Int16 => c.I16(key),
            GgufValueType.UInt32 => c.U32(key),
            GgufValueType.Int32 => c.I32(key),
            GgufValueType.Float32 => c.F32(key),
            GgufValueType.Bool => c.Bool(key),
            GgufValueType.String => c.String(key),
            GgufValueType.UInt64 => c.U64(key),
            GgufValueType.Int64 => c.I64(key),
            GgufValueType.Float64 => c.F64(key),
            GgufValueType.Array => ReadArray(ref c, key, depth),
            _ => throw c.Error($"metadata '{key}' has unknown value type {(uint)type}"),
        };
        return new GgufValue(type, value);
    }

    private static GgufArray ReadArray(ref GgufCursor c, string key, int depth)
    {
        if (depth >= MaxNesting) throw c.Error($"metadata '{key}' nests arrays more than {MaxNesting} deep");
        var elementType = (GgufValueType)c.U32($"element type of '{key}'");
        long minBytes = elementType switch
        {
            GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
            GgufValueType.UInt16 or GgufValueType.Int16 => 2,
            GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
            GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 or GgufValueType.String => 8,
            GgufValueType.Array => 12,
            _ => throw c.Error($"metadata '{key}' is an array of unknown type {(uint)elementType}"),
        };
        int n = checked((int)Math.Min(c.Count($"length of array '{key}'", minBytes), int.MaxValue));
        Array items = elementType switch
        {
            GgufValueType.UInt8 => Fill(n, ref c, key, static (ref GgufCursor r, string k) => r.U8(k)),
            GgufValueType.Int8 => Fill(n, ref c, key, static (ref GgufCursor r, string k) => r.I8(k)),
            GgufValueType.UInt16 => Fill(n, ref c, key, static (ref GgufCursor r, string k) => r.U16(k)),
            GgufValueType.Int16 => Fill(n, ref c, key, static (ref GgufCursor r, string k) => r.I16(k)),
            GgufValueType.UInt32 => Fill(n, ref c, key, static (ref GgufCursor r, string k) => r.U32(k)),
            GgufValueType.Int32 => Fill(n, ref c, key, static (ref GgufCursor r, string k) => r.I32(k)),
            GgufValueType.Float32 => Fill(n, ref c, key, static (ref GgufCursor r, string k) => r.F32(k)),
            GgufValueType.Bool => Fill(n, ref c, key, static (ref GgufCursor r, string k) => r.Bool(k)),
            GgufValueType.String => Fill(n, ref c, key, static (ref GgufCursor r, string k) => r.String(k)),
            GgufValueType.UInt64 => Fill(n, ref c, key, static (ref GgufCursor r, string k) => r.U64(k)),
            GgufValueType.Int64 => Fill(n, ref c, key, static (ref GgufCursor r, string k) => r.I64(k)),
            GgufValueType.Float64 => Fill(n, ref c, key, static (ref GgufCursor r, string k) => r.F64(k)),
            _ => FillNested(n, ref c, key, depth),
        };
        return new GgufArray(elementType, items);
    }

    private delegate T ItemReader<T>(ref GgufCursor c, string key);

    private static T[] Fill<T>(int n, ref GgufCursor c, string key, ItemReader<T> read)
    {
        var items = new T[n];
        for (int i = 0; i < n; i++) items[i] = read(ref c, key);
        return items;
    }

    private static GgufArray[] FillNested(int n, ref GgufCursor c, string key, int depth)
    {
        var items = new GgufArray[n];
        for (int i = 0; i < n; i++)
        {
            var type = (GgufValueType)c.U32($"element type of '{key}'[{i}]");
            if (type != GgufValueType.Array) throw c.Error($"metadata '{key}'[{i}] should be an array but has type {type}");
            items[i] = ReadArray(ref c, key, depth + 1);
        }
        return items;
    }

    public bool TryGetTensor(string name, out GgufTensorInfo tensor) => _tensorsByName.TryGetValue(name, out tensor!);

    /// <summary>A pointer to the first byte of <paramref name="tensor"/>'s data in the mapped file.</summary>
    public byte* TensorData(GgufTensorInfo tensor) => _file.Pointer + DataOffset + tensor.Offset;

    /// <summary>The mapped file, kept alive by whoever uses its tensors.</summary>
    public MappedFile Mapping => _file;

    public void Dispose() => _file.Dispose();
}
