using Cria.Tensors;

namespace Cria.Quantization;

/// <summary>llama.cpp's file types (<c>enum llama_ftype</c> in llama.h): the value of <c>general.file_type</c> and
/// the "mix" <c>llama-quantize</c> is asked for. Only the types whose tensors Cria can compute with are listed.</summary>
public enum LlamaFileType : uint
{
    AllF32 = 0,
    MostlyF16 = 1,
    MostlyQ4_0 = 2,
    MostlyQ4_1 = 3,
    MostlyQ8_0 = 7,
    MostlyQ5_0 = 8,
    MostlyQ5_1 = 9,
    MostlyQ2_K = 10,
    MostlyQ3_K_S = 11,
    MostlyQ3_K_M = 12,
    MostlyQ3_K_L = 13,
    MostlyQ4_K_S = 14,
    MostlyQ4_K_M = 15,
    MostlyQ5_K_S = 16,
    MostlyQ5_K_M = 17,
    MostlyQ6_K = 18,
    MostlyBF16 = 32,
}

/// <summary>Names and base types of <see cref="LlamaFileType"/>, as llama-quantize spells and maps them.</summary>
public static class LlamaFileTypes
{
    private static readonly (string Name, LlamaFileType Type, GgmlType BaseType)[] Table =
    [
        ("Q4_0", LlamaFileType.MostlyQ4_0, GgmlType.Q4_0),
        ("Q4_1", LlamaFileType.MostlyQ4_1, GgmlType.Q4_1),
        ("Q5_0", LlamaFileType.MostlyQ5_0, GgmlType.Q5_0),
        ("Q5_1", LlamaFileType.MostlyQ5_1, GgmlType.Q5_1),
        ("Q2_K", LlamaFileType.MostlyQ2_K, GgmlType.Q2_K),
        ("Q3_K_S", LlamaFileType.MostlyQ3_K_S, GgmlType.Q3_K),
        ("Q3_K_M", LlamaFileType.MostlyQ3_K_M, GgmlType.Q3_K),
        ("Q3_K_L", LlamaFileType.MostlyQ3_K_L, GgmlType.Q3_K),
        ("Q4_K_S", LlamaFileType.MostlyQ4_K_S, GgmlType.Q4_K),
        ("Q4_K_M", LlamaFileType.MostlyQ4_K_M, GgmlType.Q4_K),
        ("Q5_K_S", LlamaFileType.MostlyQ5_K_S, GgmlType.Q5_K),
        ("Q5_K_M", LlamaFileType.MostlyQ5_K_M, GgmlType.Q5_K),
        ("Q6_K", LlamaFileType.MostlyQ6_K, GgmlType.Q6_K),
        ("Q8_0", LlamaFileType.MostlyQ8_0, GgmlType.Q8_0),
        ("F16", LlamaFileType.MostlyF16, GgmlType.F16),
        ("BF16", LlamaFileType.MostlyBF16, GgmlType.BF16),
        ("F32", LlamaFileType.AllF32, GgmlType.F32),
    ];

    // llama-quantize's QUANT_OPTIONS also accept these short names.
    private static readonly (string Alias, LlamaFileType Type)[] Aliases =
    [
        ("Q3_K", LlamaFileType.MostlyQ3_K_M),
        ("Q4_K", LlamaFileType.MostlyQ4_K_M),
        ("Q5_K", LlamaFileType.MostlyQ5_K_M),
    ];

    /// <summary>Every file type, in llama-quantize's order.</summary>
    public static IEnumerable<LlamaFileType> All => Table.Select(t => t.Type);

    /// <summary>The names accepted by <see cref="TryParse"/>, for help and error messages.</summary>
    public static IEnumerable<string> Names => Table.Select(t => t.Name).Concat(Aliases.Select(a => a.Alias));

    /// <summary>Looks up a file type by name, case-insensitively: "Q4_K_M", "q8_0", "Q4_K" (= Q4_K_M, as in llama-quantize) …</summary>
    public static bool TryParse(string name, out LlamaFileType type)
    {
        foreach (var t in Table)
            if (string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase)) { type = t.Type; return true; }
        foreach (var a in Aliases)
            if (string.Equals(a.Alias, name, StringComparison.OrdinalIgnoreCase)) { type = a.Type; return true; }
        type = default;
        return false;
    }

    /// <summary>The name llama-quantize uses, e.g. "Q4_K_M".</summary>
    public static string Name(LlamaFileType type) => Entry(type).Name;

    /// <summary>The tensor type most matrices get (llama.cpp's <c>default_type</c> in <c>llama_model_quantize_impl</c>).</summary>
    public static GgmlType BaseType(LlamaFileType type) => Entry(type).BaseType;

    private static (string Name, LlamaFileType Type, GgmlType BaseType) Entry(LlamaFileType type)
    {
        foreach (var t in Table)
            if (t.Type == type) return t;
        throw new ArgumentOutOfRangeException(nameof(type), type, "not a file type Cria can write");
    }
}
