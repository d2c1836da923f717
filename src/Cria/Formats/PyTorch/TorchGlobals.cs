namespace Cria.Formats.PyTorch;

/// <summary>The only globals a checkpoint's pickle may name: OrderedDict, torch's tensor and parameter rebuild
/// functions, the storage classes and the dtypes. Each is recognised by name and interpreted by the unpickler;
/// nothing is imported or called. Everything else (<c>os.system</c>, <c>builtins.eval</c>, …) is refused.</summary>
internal static class TorchGlobals
{
    private static readonly Dictionary<(string, string), TorchGlobalKind> Functions = new()
    {
        [("collections", "OrderedDict")] = TorchGlobalKind.OrderedDict,
        [("torch._utils", "_rebuild_tensor")] = TorchGlobalKind.RebuildTensor,
        [("torch._utils", "_rebuild_tensor_v2")] = TorchGlobalKind.RebuildTensorV2,
        [("torch._utils", "_rebuild_tensor_v3")] = TorchGlobalKind.RebuildTensorV3,
        [("torch._utils", "_rebuild_parameter")] = TorchGlobalKind.RebuildParameter,
        [("torch._utils", "_rebuild_parameter_with_state")] = TorchGlobalKind.RebuildParameterWithState,
    };

    /// <summary>The allowed global <paramref name="module"/>.<paramref name="name"/>, or false.</summary>
    public static bool TryResolve(string module, string name, out TorchGlobal global)
    {
        global = null!;
        if (Functions.TryGetValue((module, name), out var kind))
            global = new TorchGlobal(module, name, kind);
        else if (module == "torch" && TorchDtype.TryFromStorageName(name, out var storageDtype))
            global = new TorchGlobal(module, name, TorchGlobalKind.StorageType, storageDtype);
        else if (module == "torch" && TorchDtype.TryFromDtypeName(name, out var dtype))
            global = new TorchGlobal(module, name, TorchGlobalKind.Dtype, dtype);
        return global != null;
    }

    public static ModelFormatException Refusal(string source, string module, string name, int offset) =>
        new($"{source}: the pickle names the global '{Printable(module)}.{Printable(name)}' (at byte {offset}), which is not a tensor, " +
            "storage, dtype or OrderedDict; Cria's unpickler never runs code from a checkpoint and refuses it");

    // Names come from the file: keep messages one readable line.
    private static string Printable(string text)
    {
        if (text.Length > 100) text = text[..100] + "…";
        return string.Concat(text.Select(c => char.IsControl(c) ? '?' : c));
    }
}
