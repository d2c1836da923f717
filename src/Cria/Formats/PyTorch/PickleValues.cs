namespace Cria.Formats.PyTorch;

// What the restricted unpickler builds. Python's None, bool, int, float, str and bytes become null, bool, long,
// double, string and byte[]; lists become List<object?>; the rest are the types below. Nothing here runs code.

/// <summary>A Python tuple.</summary>
internal sealed class PickleTuple(object?[] items)
{
    public static readonly PickleTuple Empty = new([]);
    public object?[] Items { get; } = items;
    public int Count => Items.Length;
}

/// <summary>A Python set or frozenset (kept as its items).</summary>
internal sealed class PickleSet
{
    public List<object?> Items { get; } = [];
}

/// <summary>A dict or collections.OrderedDict, in insertion order. Keys are compared as Python compares str, int,
/// float and bool; a tuple key is compared by identity.</summary>
internal sealed class PickleDict
{
    private static readonly object NoneKey = new();
    private readonly OrderedDictionary<object, object?> _items = new();

    public int Count => _items.Count;

    public IEnumerable<KeyValuePair<object?, object?>> Items =>
        _items.Select(p => new KeyValuePair<object?, object?>(ReferenceEquals(p.Key, NoneKey) ? null : p.Key, p.Value));

    /// <summary>Sets <paramref name="key"/> as Python's <c>d[key] = value</c> does (a repeated key keeps its place).</summary>
    public void Set(object? key, object? value, Func<string, Exception> error)
    {
        if (key is List<object?> or PickleDict or PickleSet) throw error($"a dict key is unhashable ({Describe.Value(key)})");
        _items[key ?? NoneKey] = value;
    }
}

/// <summary>What a GLOBAL opcode may name: the few torch and collections objects a state dict needs.</summary>
internal enum TorchGlobalKind
{
    OrderedDict,
    RebuildTensor,
    RebuildTensorV2,
    RebuildTensorV3,
    RebuildParameter,
    RebuildParameterWithState,
    StorageType,
    Dtype,
}

/// <summary>An allowed global, e.g. <c>torch._utils._rebuild_tensor_v2</c> or <c>torch.BFloat16Storage</c>.</summary>
internal sealed record TorchGlobal(string Module, string Name, TorchGlobalKind Kind, TorchDtype? Dtype = null)
{
    public string FullName => Module + "." + Name;
}

/// <summary>A storage named by a persistent id <c>('storage', torch.XStorage, key, location, numel)</c>: its bytes are
/// the zip record <c>data/&lt;key&gt;</c>.</summary>
internal sealed class TorchStorageRef(string key, TorchDtype dtype, string location, long elementCount)
{
    public string Key { get; } = key;
    public TorchDtype Dtype { get; } = dtype;
    public string Location { get; } = location;
    public long ElementCount { get; } = elementCount;
    public long ByteCount => ElementCount * Dtype.ElementSize;
}

/// <summary>A tensor: a view of a storage from an element offset, with a shape and strides (in elements).</summary>
internal sealed class TorchTensorRef(TorchStorageRef storage, TorchDtype dtype, long storageOffset, long[] shape, long[] stride)
{
    public TorchStorageRef Storage { get; } = storage;
    public TorchDtype Dtype { get; } = dtype;
    public long StorageOffset { get; } = storageOffset;
    public long[] Shape { get; } = shape;
    public long[] Stride { get; } = stride;
}

/// <summary>Short descriptions of unpickled values for error messages (never recursive: values may nest deeply).</summary>
internal static class Describe
{
    public static string Value(object? value) => value switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        long l => $"int {l}",
        double d => $"float {d}",
        string s => s.Length <= 60 ? $"str '{Printable(s)}'" : $"str '{Printable(s[..60])}…' ({s.Length} characters)",
        byte[] bytes => $"bytes ({bytes.Length})",
        List<object?> list => $"a list of {list.Count}",
        PickleTuple t => $"a tuple of {t.Count}",
        PickleDict d => $"a dict of {d.Count}",
        PickleSet s => $"a set of {s.Items.Count}",
        TorchGlobal g => g.FullName,
        TorchStorageRef s => $"storage '{s.Key}' ({s.Dtype})",
        TorchTensorRef t => $"a {t.Dtype} tensor [{string.Join(", ", t.Shape)}]",
        _ => value.GetType().Name,
    };

    // Strings come from the file: keep messages on one line.
    private static string Printable(string s) => string.Concat(s.Select(c => char.IsControl(c) ? '?' : c));
}
