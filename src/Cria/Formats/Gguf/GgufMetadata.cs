using Cria.IO;
namespace Cria.Formats.Gguf;

/// <summary>GGUF key/value metadata in file order, with typed look-ups that name the key when it is wrong.</summary>
public sealed class GgufMetadata
{
    private readonly Dictionary<string, GgufValue> _byKey;

    public IReadOnlyList<KeyValuePair<string, GgufValue>> Entries { get; }

    public GgufMetadata(IReadOnlyList<KeyValuePair<string, GgufValue>> entries)
    {
        Entries = entries;
        _byKey = new Dictionary<string, GgufValue>(entries);
    }

    public bool Contains(string key) => _byKey.ContainsKey(key);

    public bool TryGet(string key, out GgufValue value) => _byKey.TryGetValue(key, out value!);

    public string? GetString(string key)
    {
        if (!TryGet(key, out var v)) return null;
        return v.Value as string ?? throw new ModelFormatException($"metadata '{key}' should be a string but is {v.Type}");
    }

    public long? GetInt(string key)
    {
        if (!TryGet(key, out var v)) return null;
        return v.TryGetInt64(out long l) ? l : throw new ModelFormatException($"metadata '{key}' should be an integer but is {v.Type} {v.Display()}");
    }

    public double? GetFloat(string key)
    {
        if (!TryGet(key, out var v)) return null;
        return v.TryGetDouble(out double d) ? d : throw new ModelFormatException($"metadata '{key}' should be a number but is {v.Type}");
    }

    public bool? GetBool(string key)
    {
        if (!TryGet(key, out var v)) return null;
        return v.Value is bool b ? b : throw new ModelFormatException($"metadata '{key}' should be a bool but is {v.Type}");
    }

    /// <summary>An array value whose items are <typeparamref name="T"/> (e.g. <c>string</c>, <c>float</c>, <c>int</c>).</summary>
    public T[]? GetArray<T>(string key)
    {
        if (!TryGet(key, out var v)) return null;
        if (v.Value is GgufArray { Items: T[] items }) return items;
        return v.Value is GgufArray a
            ? throw new ModelFormatException($"metadata '{key}' should be an array of {typeof(T).Name} but holds {a.ElementType}")
            : throw new ModelFormatException($"metadata '{key}' should be an array but is {v.Type}");
    }

    /// <summary>A string array as UTF-8, without a .NET string per item (a vocabulary's tokens and merges).</summary>
    internal PackedByteStrings? GetUtf8Strings(string key)
    {
        if (!TryGet(key, out var v)) return null;
        if (v.Value is GgufArray { ElementType: GgufValueType.String, Utf8Strings: { } strings }) return strings;
        return v.Value is GgufArray a
            ? throw new ModelFormatException($"metadata '{key}' should be an array of String but holds {a.ElementType}")
            : throw new ModelFormatException($"metadata '{key}' should be an array but is {v.Type}");
    }

    /// <summary>An integer array whatever its stored integer width (token types are int32 in most files, but not all).</summary>
    public long[]? GetIntArray(string key)
    {
        if (!TryGet(key, out var v)) return null;
        if (v.Value is not GgufArray a) throw new ModelFormatException($"metadata '{key}' should be an array but is {v.Type}");
        if (a.ElementType == GgufValueType.Int32 && a.Items is int[] ints) return Array.ConvertAll(ints, i => (long)i); // the usual width, without boxing each item
        var result = new long[a.Length];
        for (int i = 0; i < result.Length; i++)
        {
            if (!new GgufValue(a.ElementType, a.Item(i)).TryGetInt64(out result[i]))
                throw new ModelFormatException($"metadata '{key}' should be an integer array but holds {a.ElementType}");
        }
        return result;
    }
}
