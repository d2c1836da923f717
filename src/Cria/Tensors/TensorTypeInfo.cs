namespace Cria.Tensors;

/// <summary>Block geometry of a ggml type: how many elements a block holds and how many bytes it takes.</summary>
public readonly record struct TensorTypeInfo(GgmlType Type, string Name, int BlockElements, int BlockBytes)
{
    private static readonly Dictionary<GgmlType, TensorTypeInfo> ByType = new()
    {
        [GgmlType.F32] = new(GgmlType.F32, "F32", 1, 4),
        [GgmlType.F16] = new(GgmlType.F16, "F16", 1, 2),
        [GgmlType.BF16] = new(GgmlType.BF16, "BF16", 1, 2),
        [GgmlType.F64] = new(GgmlType.F64, "F64", 1, 8),
        [GgmlType.I8] = new(GgmlType.I8, "I8", 1, 1),
        [GgmlType.I16] = new(GgmlType.I16, "I16", 1, 2),
        [GgmlType.I32] = new(GgmlType.I32, "I32", 1, 4),
        [GgmlType.I64] = new(GgmlType.I64, "I64", 1, 8),
        [GgmlType.Q4_0] = new(GgmlType.Q4_0, "Q4_0", 32, 18),
        [GgmlType.Q4_1] = new(GgmlType.Q4_1, "Q4_1", 32, 20),
        [GgmlType.Q5_0] = new(GgmlType.Q5_0, "Q5_0", 32, 22),
        [GgmlType.Q5_1] = new(GgmlType.Q5_1, "Q5_1", 32, 24),
        [GgmlType.Q8_0] = new(GgmlType.Q8_0, "Q8_0", 32, 34),
        [GgmlType.Q8_1] = new(GgmlType.Q8_1, "Q8_1", 32, 36),
        [GgmlType.Q2_K] = new(GgmlType.Q2_K, "Q2_K", 256, 84),
        [GgmlType.Q3_K] = new(GgmlType.Q3_K, "Q3_K", 256, 110),
        [GgmlType.Q4_K] = new(GgmlType.Q4_K, "Q4_K", 256, 144),
        [GgmlType.Q5_K] = new(GgmlType.Q5_K, "Q5_K", 256, 176),
        [GgmlType.Q6_K] = new(GgmlType.Q6_K, "Q6_K", 256, 210),
        [GgmlType.Q8_K] = new(GgmlType.Q8_K, "Q8_K", 256, 292),
        [GgmlType.IQ2_XXS] = new(GgmlType.IQ2_XXS, "IQ2_XXS", 256, 66),
        [GgmlType.IQ2_XS] = new(GgmlType.IQ2_XS, "IQ2_XS", 256, 74),
        [GgmlType.IQ3_XXS] = new(GgmlType.IQ3_XXS, "IQ3_XXS", 256, 98),
        [GgmlType.IQ1_S] = new(GgmlType.IQ1_S, "IQ1_S", 256, 50),
        [GgmlType.IQ4_NL] = new(GgmlType.IQ4_NL, "IQ4_NL", 32, 18),
        [GgmlType.IQ3_S] = new(GgmlType.IQ3_S, "IQ3_S", 256, 110),
        [GgmlType.IQ2_S] = new(GgmlType.IQ2_S, "IQ2_S", 256, 82),
        [GgmlType.IQ4_XS] = new(GgmlType.IQ4_XS, "IQ4_XS", 256, 136),
        [GgmlType.IQ1_M] = new(GgmlType.IQ1_M, "IQ1_M", 256, 56),
        [GgmlType.TQ1_0] = new(GgmlType.TQ1_0, "TQ1_0", 256, 54),
        [GgmlType.TQ2_0] = new(GgmlType.TQ2_0, "TQ2_0", 256, 66),
        [GgmlType.MXFP4] = new(GgmlType.MXFP4, "MXFP4", 32, 17),
    };

    /// <summary>The geometry of <paramref name="type"/>, or false for an id ggml does not define.</summary>
    public static bool TryGet(GgmlType type, out TensorTypeInfo info) => ByType.TryGetValue(type, out info);

    public static TensorTypeInfo Get(GgmlType type) =>
        TryGet(type, out var info) ? info : throw new CriaException($"unknown ggml type id {(uint)type}");

    /// <summary>Looks a type up by its name, case-insensitively (e.g. "q4_k", "F16").</summary>
    public static bool TryParse(string name, out TensorTypeInfo info)
    {
        foreach (var candidate in ByType.Values)
            if (string.Equals(candidate.Name, name, StringComparison.OrdinalIgnoreCase)) { info = candidate; return true; }
        info = default;
        return false;
    }

    /// <summary>Bytes needed for one row of <paramref name="elements"/> elements (a multiple of the block size).</summary>
    public long RowBytes(long elements) => elements / BlockElements * BlockBytes;

    public override string ToString() => Name;
}
