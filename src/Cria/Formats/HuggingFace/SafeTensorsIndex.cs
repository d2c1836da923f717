using System.Text.Json;

namespace Cria.Formats.HuggingFace;

/// <summary>A sharded checkpoint's <c>model.safetensors.index.json</c>: <c>{"metadata": {...}, "weight_map":
/// {tensor name: file name}}</c>. File names must be plain names in the index's own folder.</summary>
public sealed class SafeTensorsIndex
{
    /// <summary>Indexes of real models are a few hundred kB; anything this large is refused unread.</summary>
    public const long MaxFileBytes = 64 << 20;

    /// <summary>Tensor name → shard file name.</summary>
    public IReadOnlyDictionary<string, string> WeightMap { get; }

    /// <summary>The shard file names, in the order they first appear in the weight map.</summary>
    public IReadOnlyList<string> Files { get; }

    private SafeTensorsIndex(Dictionary<string, string> weightMap, List<string> files)
    {
        WeightMap = weightMap;
        Files = files;
    }

    /// <summary>Reads and checks the index at <paramref name="path"/> (not the shards it names).</summary>
    public static SafeTensorsIndex Read(string path)
    {
        string source = $"safetensors index '{path}'";
        using var document = HuggingFaceConfig.ParseJsonFile(path, MaxFileBytes, source);
        try
        {
            return FromJson(document.RootElement, source);
        }
        catch (InvalidOperationException e) // a name with a \uD800-style escape that is not a whole character
        {
            throw new ModelFormatException($"{source}: a string is not valid Unicode ({e.Message})", e);
        }
    }

    private static SafeTensorsIndex FromJson(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{source}: expected a JSON object, found {root.ValueKind}");
        if (!root.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException($"{source}: no 'weight_map' object (tensor name → file)");
        var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in map.EnumerateObject())
        {
            string name = Clip(entry.Name);
            if (entry.Value.ValueKind != JsonValueKind.String) throw new ModelFormatException($"{source}: weight_map['{name}'] is {entry.Value.ValueKind}, not a file name");
            string file = entry.Value.GetString()!;
            if (file.Length == 0 || file is "." or ".." || file.IndexOfAny(['/', '\\', '\0', ':']) >= 0)
                throw new ModelFormatException($"{source}: weight_map['{name}'] = '{Clip(file)}' is not a plain file name in the index's folder");
            if (!weightMap.TryAdd(entry.Name, file)) throw new ModelFormatException($"{source}: tensor '{name}' appears twice in weight_map");
            if (seen.Add(file)) files.Add(file);
        }
        if (weightMap.Count == 0) throw new ModelFormatException($"{source}: weight_map is empty");
        return new SafeTensorsIndex(weightMap, files);
    }

    private static string Clip(string s) => s.Length <= 200 ? s : s[..200] + "…";
}
