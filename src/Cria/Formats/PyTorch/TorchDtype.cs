using Cria.Tensors;

namespace Cria.Formats.PyTorch;

/// <summary>A PyTorch element type: its name, the legacy storage class that carries it in torch.save pickles
/// (<c>torch.BFloat16Storage</c> …), its size, and the ggml type Cria computes with, if any.</summary>
public sealed record TorchDtype(string Name, string? StorageName, int ElementSize, GgmlType? GgmlType)
{
    public static readonly TorchDtype Float32 = new("float32", "FloatStorage", 4, Tensors.GgmlType.F32);
    public static readonly TorchDtype Float16 = new("float16", "HalfStorage", 2, Tensors.GgmlType.F16);
    public static readonly TorchDtype BFloat16 = new("bfloat16", "BFloat16Storage", 2, Tensors.GgmlType.BF16);
    /// <summary>The element type of <c>torch.UntypedStorage</c> (bytes), which <c>_rebuild_tensor_v3</c> views with a dtype.</summary>
    public static readonly TorchDtype UInt8 = new("uint8", "ByteStorage", 1, null);

    private static readonly TorchDtype[] All =
    [
        Float32, Float16, BFloat16, UInt8,
        new("float64", "DoubleStorage", 8, Tensors.GgmlType.F64),
        new("int64", "LongStorage", 8, Tensors.GgmlType.I64),
        new("int32", "IntStorage", 4, Tensors.GgmlType.I32),
        new("int16", "ShortStorage", 2, Tensors.GgmlType.I16),
        new("int8", "CharStorage", 1, Tensors.GgmlType.I8),
        new("bool", "BoolStorage", 1, null),
        new("complex64", "ComplexFloatStorage", 8, null),
        new("complex128", "ComplexDoubleStorage", 16, null),
        new("float8_e4m3fn", null, 1, null),
        new("float8_e5m2", null, 1, null),
        new("uint16", null, 2, null),
        new("uint32", null, 4, null),
        new("uint64", null, 8, null),
    ];

    // torch.dtype objects pickle as their attribute name in module torch, aliases included.
    private static readonly Dictionary<string, TorchDtype> ByDtypeName = All.ToDictionary(d => d.Name)
        .Concat(new Dictionary<string, TorchDtype>
        {
            ["float"] = Float32, ["half"] = Float16, ["double"] = All[4], ["long"] = All[5], ["int"] = All[6], ["short"] = All[7],
        }).ToDictionary(p => p.Key, p => p.Value);

    private static readonly Dictionary<string, TorchDtype> ByStorageName =
        All.Where(d => d.StorageName != null).ToDictionary(d => d.StorageName!);

    /// <summary>The dtype a <c>torch.XStorage</c> class holds (<c>UntypedStorage</c> holds bytes).</summary>
    public static bool TryFromStorageName(string name, out TorchDtype dtype)
    {
        if (name == "UntypedStorage")
        {
            dtype = UInt8;
            return true;
        }
        return ByStorageName.TryGetValue(name, out dtype!);
    }

    /// <summary>The dtype of a pickled <c>torch.&lt;name&gt;</c> dtype object.</summary>
    public static bool TryFromDtypeName(string name, out TorchDtype dtype) => ByDtypeName.TryGetValue(name, out dtype!);

    public override string ToString() => Name;
}
