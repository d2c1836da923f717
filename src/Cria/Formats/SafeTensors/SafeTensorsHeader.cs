using System.Text;
using System.Text.Json;

namespace Cria.Formats.SafeTensors;

/// <summary>The parsed and checked JSON header of a safetensors file. Checks follow the reference library
/// (huggingface/safetensors <c>read_metadata</c> + <c>validate</c>): at most 100 MB of UTF-8 JSON starting with '{',
/// an optional <c>__metadata__</c> map of strings, and tensors whose dtype × shape equals their byte range, with the
/// ranges, in offset order, tiling the data section exactly (no overlap, no gap, nothing after). It also refuses
/// duplicate names, which the reference silently collapses. Memory use is bounded by the header's actual bytes,
/// never by a size the header claims.</summary>
public sealed class SafeTensorsHeader
{
    /// <summary>The reference library refuses headers longer than this (<c>MAX_HEADER_SIZE</c>).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>The key of the free-form string map that is not a tensor.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>Tensors in data order (ascending offsets).</summary>
    public IReadOnlyList<SafeTensorsTensorInfo> Tensors { get; }

    /// <summary>The <c>__metadata__</c> entries in header order (empty when absent).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Metadata { get; }

    private SafeTensorsHeader(IReadOnlyList<SafeTensorsTensorInfo> tensors, IReadOnlyList<KeyValuePair<string, string>> metadata)
    {
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>Parses <paramref name="json"/> (the header bytes) and checks it against a data section of
    /// <paramref name="dataLength"/> bytes; errors start with <paramref name="source"/>.</summary>
    public static SafeTensorsHeader Parse(ReadOnlySpan<byte> json, long dataLength, string source)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json)) throw new ModelFormatException($"{source}: the header is not valid UTF-8");
        if (json.Length == 0 || json[0] != (byte)'{') throw new ModelFormatException($"{source}: the header does not start with '{{' (not a safetensors file?)");
        var tensors = new List<SafeTensorsTensorInfo>();
        var metadata = new List<KeyValuePair<string, string>>();
        try
        {
            ReadJson(json, source, tensors, metadata);
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{source}: the header is not valid JSON ({e.Message})", e);
        }
        catch (InvalidOperationException e) // a \uD800-style escape that is not a whole character
        {
            throw new ModelFormatException($"{source}: the header holds a string that is not valid Unicode ({e.Message})", e);
        }
        CheckLayout(tensors, dataLength, source);
        return new SafeTensorsHeader(tensors, metadata);
    }

    private static void ReadJson(ReadOnlySpan<byte> json, string source, List<SafeTensorsTensorInfo> tensors, List<KeyValuePair<string, string>> metadata)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 8 });
        Expect(ref reader, JsonTokenType.StartObject, source, "the header");
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (Next(ref reader, source) != JsonTokenType.EndObject)
        {
            string name = reader.GetString()!;
            if (!names.Add(name)) throw new ModelFormatException($"{source}: '{Clip(name)}' appears twice in the header");
            if (name == MetadataKey) ReadMetadata(ref reader, source, metadata);
            else tensors.Add(ReadTensor(ref reader, name, source));
        }
        if (reader.Read()) throw new ModelFormatException($"{source}: the header has content after its JSON object");
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, string source, List<KeyValuePair<string, string>> metadata)
    {
        if (Next(ref reader, source) == JsonTokenType.Null) return; // the reference reads __metadata__ as Option<map>
        if (reader.TokenType != JsonTokenType.StartObject) throw new ModelFormatException($"{source}: {MetadataKey} is not an object of strings");
        var keys = new HashSet<string>(StringComparer.Ordinal);
        while (Next(ref reader, source) != JsonTokenType.EndObject)
        {
            string key = reader.GetString()!;
            if (!keys.Add(key)) throw new ModelFormatException($"{source}: {MetadataKey} key '{Clip(key)}' appears twice");
            if (Next(ref reader, source) != JsonTokenType.String)
                throw new ModelFormatException($"{source}: {MetadataKey} value of '{Clip(key)}' is {reader.TokenType}, not a string");
            metadata.Add(new(key, reader.GetString()!));
        }
    }

    private static SafeTensorsTensorInfo ReadTensor(ref Utf8JsonReader reader, string name, string source)
    {
        string where = $"{source}: tensor '{Clip(name)}'";
        if (Next(ref reader, source) != JsonTokenType.StartObject) throw new ModelFormatException($"{where} is {reader.TokenType}, not an object");
        SafeTensorsDType? dtype = null;
        long[]? shape = null, offsets = null;
        while (Next(ref reader, source) != JsonTokenType.EndObject)
        {
            string field = reader.GetString()!;
            switch (field)
            {
                case "dtype":
                    if (dtype != null) throw new ModelFormatException($"{where} has two dtypes");
                    if (Next(ref reader, source) != JsonTokenType.String) throw new ModelFormatException($"{where}: dtype is {reader.TokenType}, not a string");
                    string text = reader.GetString()!;
                    if (!SafeTensorsDTypes.TryParse(text, out var parsed))
                        throw new ModelFormatException($"{where} has unknown dtype '{Clip(text)}' (known: {string.Join(", ", Enum.GetNames<SafeTensorsDType>())})");
                    dtype = parsed;
                    break;
                case "shape":
                    if (shape != null) throw new ModelFormatException($"{where} has two shapes");
                    shape = ReadIntegers(ref reader, where, "shape");
                    break;
                case "data_offsets":
                    if (offsets != null) throw new ModelFormatException($"{where} has two data_offsets");
                    offsets = ReadIntegers(ref reader, where, "data_offsets");
                    if (offsets.Length != 2) throw new ModelFormatException($"{where}: data_offsets has {offsets.Length} numbers, not 2 [begin, end]");
                    break;
                default:
                    Next(ref reader, source); // fields the reference does not know are ignored there too
                    reader.Skip();
                    break;
            }
        }
        if (dtype == null) throw new ModelFormatException($"{where} has no dtype");
        if (shape == null) throw new ModelFormatException($"{where} has no shape");
        if (offsets == null) throw new ModelFormatException($"{where} has no data_offsets");
        return new SafeTensorsTensorInfo(name, dtype.Value, shape, offsets[0], offsets[1]);
    }

    // An array of non-negative integers that fit a long (a file cannot be larger than that anyway).
    private static long[] ReadIntegers(ref Utf8JsonReader reader, string where, string field)
    {
        if (Next(ref reader, where) != JsonTokenType.StartArray) throw new ModelFormatException($"{where}: {field} is {reader.TokenType}, not an array");
        var values = new List<long>();
        while (Next(ref reader, where) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long v) || v < 0)
                throw new ModelFormatException($"{where}: {field} holds '{Clip(Encoding.UTF8.GetString(reader.ValueSpan[..Math.Min(reader.ValueSpan.Length, 64)]))}', " +
                                               "not a non-negative integer");
            values.Add(v);
        }
        return values.ToArray();
    }

    // Sizes must agree with dtype × shape, and the ranges in offset order must tile [0, dataLength) exactly.
    private static void CheckLayout(List<SafeTensorsTensorInfo> tensors, long dataLength, string source)
    {
        foreach (var t in tensors)
        {
            string where = $"{source}: tensor '{Clip(t.Name)}'";
            if (t.End < t.Begin) throw new ModelFormatException($"{where}: data_offsets [{t.Begin}, {t.End}] end before they begin");
            if (t.End > dataLength)
                throw new ModelFormatException($"{where}: data_offsets [{t.Begin}, {t.End}] lie outside the {dataLength} bytes of data after the header");
            long bytes = ByteSize(t, where);
            if (bytes != t.ByteSize)
                throw new ModelFormatException($"{where}: {t.DType} [{t.ShapeText}] takes {bytes} bytes but data_offsets [{t.Begin}, {t.End}] hold {t.ByteSize}");
        }
        tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long position = 0;
        SafeTensorsTensorInfo? previous = null;
        foreach (var t in tensors)
        {
            if (t.Begin < position)
                throw new ModelFormatException($"{source}: tensors '{Clip(previous!.Name)}' [{previous.Begin}, {previous.End}] and '{Clip(t.Name)}' [{t.Begin}, {t.End}] overlap");
            if (t.Begin > position)
                throw new ModelFormatException($"{source}: {t.Begin - position} bytes before tensor '{Clip(t.Name)}' belong to no tensor (safetensors data has no gaps)");
            position = t.End;
            previous = t;
        }
        if (position != dataLength)
            throw new ModelFormatException($"{source}: the tensors end at byte {position} of the data but the file holds {dataLength} (trailing bytes, or a truncated header?)");
    }

    private static long ByteSize(SafeTensorsTensorInfo t, string where)
    {
        try
        {
            ulong elements = 1;
            foreach (long d in t.Shape) elements = checked(elements * (ulong)d);
            ulong bits = checked(elements * (ulong)t.DType.Bits());
            if (bits % 8 != 0) throw new ModelFormatException($"{where}: {t.DType} [{t.ShapeText}] is not a whole number of bytes");
            return bits / 8 > long.MaxValue ? throw new OverflowException() : (long)(bits / 8);
        }
        catch (OverflowException)
        {
            throw new ModelFormatException($"{where}: shape [{t.ShapeText}] of {t.DType} overflows 64 bits");
        }
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string source, string what)
    {
        if (!reader.Read() || reader.TokenType != type) throw new ModelFormatException($"{source}: {what} is not a JSON object");
    }

    // The next token; the reader itself throws JsonException on malformed JSON.
    private static JsonTokenType Next(ref Utf8JsonReader reader, string source)
    {
        if (!reader.Read()) throw new ModelFormatException($"{source}: the header JSON ends early");
        return reader.TokenType;
    }

    // Names in messages are cut short: a hostile header may hold a name of megabytes.
    internal static string Clip(string s) => s.Length <= 200 ? s : s[..200] + "…";
}
