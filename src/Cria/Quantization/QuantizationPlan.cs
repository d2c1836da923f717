using Cria.Formats.Gguf;
using Cria.Tensors;

namespace Cria.Quantization;

/// <summary>One tensor of the output file: where it comes from and what becomes of it.</summary>
/// <param name="Source">The input tensor.</param>
/// <param name="Type">Its type in the output.</param>
/// <param name="Convert">True when the data is converted (dequantised if need be, then quantised to <paramref name="Type"/>);
/// false when the bytes are copied (1-D tensors, norms, or a tensor already of its target type).</param>
/// <param name="FallbackFrom">The type the mix asked for, when the rows did not fit its blocks.</param>
public sealed record PlannedTensor(GgufTensorInfo Source, GgmlType Type, bool Convert, GgmlType? FallbackFrom);

/// <summary>What llama-quantize would write for a GGUF file: every tensor in llama.cpp's order with its output type
/// (<c>llama_model_quantize_impl</c>: which tensors are quantised at all, then <c>llama_tensor_get_type</c>; with
/// <c>--pure</c> only its fallback for rows that do not fit the blocks). Made before any data is touched, so a problem
/// stops the run before a byte is written.</summary>
public sealed class QuantizationPlan
{
    public required LlamaFileType FileType { get; init; }
    public required QuantizationModelInfo Model { get; init; }
    /// <summary>The output tensors in the order they are written.</summary>
    public required IReadOnlyList<PlannedTensor> Tensors { get; init; }
    /// <summary>Tensors whose block type was chosen (llama.cpp's n_k_quantized + n_fallback).</summary>
    public int Chosen { get; init; }
    /// <summary>Tensors that needed a fallback type because their rows do not fit the mix's blocks.</summary>
    public int Fallbacks { get; init; }

    /// <summary>Plans the quantisation of <paramref name="file"/> (<paramref name="fileName"/> names it in errors).</summary>
    public static QuantizationPlan Create(GgufFile file, LlamaFileType fileType, bool pure, bool allowRequantize, string fileName)
    {
        var model = QuantizationModelInfo.From(file);
        var selector = new LlamaTensorTypeSelector(model, fileType);
        GgmlType baseType = LlamaFileTypes.BaseType(fileType);
        bool baseIsQuantized = TensorTypeInfo.Get(baseType).BlockElements > 1;
        var tensors = new List<PlannedTensor>(file.Tensors.Count);
        foreach (var t in file.Tensors.OrderBy(t => t.Name, LlamaTensorOrder.Instance))
        {
            if (!IsQuantizable(t.Name, t.Dimensions))
            {
                tensors.Add(new PlannedTensor(t, t.Type, false, null));
                continue;
            }
            var choice = baseIsQuantized ? selector.Choose(t.Name, t.Dimensions, baseType, pure) : new(baseType, null);
            if (choice.Type == t.Type)
            {
                tensors.Add(new PlannedTensor(t, t.Type, false, null)); // already what the mix wants: copied as it is
                continue;
            }
            CheckConvertible(t, choice.Type, allowRequantize, fileName);
            tensors.Add(new PlannedTensor(t, choice.Type, true, choice.FallbackFrom));
        }
        return new QuantizationPlan
        {
            FileType = fileType, Model = model, Tensors = tensors,
            Chosen = selector.Quantized + selector.Fallbacks, Fallbacks = selector.Fallbacks,
        };
    }

    private static void CheckConvertible(GgufTensorInfo t, GgmlType target, bool allowRequantize, string fileName)
    {
        var from = TensorTypeInfo.Get(t.Type);
        var to = TensorTypeInfo.Get(target);
        if (!BlockKernels.TryGet(t.Type, out _))
            throw new CriaException($"'{fileName}': tensor '{t.Name}' has type {from.Name}, which Cria cannot convert " +
                                    $"(supported: {string.Join(", ", BlockKernels.SupportedTypes.Select(x => TensorTypeInfo.Get(x).Name))})");
        if (from.BlockElements > 1 && !allowRequantize)
            throw new CriaException($"'{fileName}': tensor '{t.Name}' is already quantised ({from.Name}); requantising it to {to.Name} " +
                                    "loses more precision than quantising the original weights, so it needs --allow-requantize (as in llama-quantize)");
        if (t.Dimensions[0] % to.BlockElements != 0)
            throw new CriaException($"'{fileName}': tensor '{t.Name}' has rows of {t.Dimensions[0]}, not whole {to.Name} blocks of {to.BlockElements}");
    }

    /// <summary>llama-quantize's test of whether a tensor is quantised at all: a weight ("…weight", see below) with
    /// two or more dimensions that is not a norm, an expert router, a position or token-type embedding, a Mamba conv1d,
    /// an RWKV time-mix weight or a T5 relative-position bias. Everything else (norms, rope_freqs) is copied.</summary>
    public static bool IsQuantizable(string name, IReadOnlyList<long> dimensions)
    {
        // llama.cpp: name.rfind("weight") == name.size() - 6. Without "weight" rfind gives npos, which equals
        // size() - 6 when the name is 5 characters long; that quirk is kept so the same tensors are quantised.
        int at = name.LastIndexOf("weight", StringComparison.Ordinal);
        bool quantize = at >= 0 ? at == name.Length - 6 : name.Length == 5;
        quantize &= DimensionCount(dimensions) >= 2;
        quantize &= !name.Contains("_norm.weight", StringComparison.Ordinal);
        quantize &= !name.Contains("ffn_gate_inp.weight", StringComparison.Ordinal);
        quantize &= name != "position_embd.weight" && name != "token_types.weight";
        foreach (string excluded in ExcludedParts) quantize &= !name.Contains(excluded, StringComparison.Ordinal);
        return quantize;
    }

    private static readonly string[] ExcludedParts =
    [
        "ssm_conv1d.weight", "time_mix_first.weight", "time_mix_w1.weight", "time_mix_w2.weight",
        "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight",
    ];

    /// <summary>ggml_n_dims: dimensions up to the last one larger than 1 (a [256, 1] tensor has one).</summary>
    public static int DimensionCount(IReadOnlyList<long> dimensions)
    {
        for (int i = dimensions.Count - 1; i >= 1; i--)
            if (dimensions[i] > 1) return i + 1;
        return 1;
    }
}
