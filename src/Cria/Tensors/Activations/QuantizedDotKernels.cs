using Cria.Tensors.Formats;

namespace Cria.Tensors.Activations;

/// <summary>The integer dot product of one weight type with 8-bit activations, as function pointers so a matmul picks
/// them once per weight: quantise the activation row once with <see cref="QuantizeActivations"/> (into
/// <see cref="ActivationLayout.RowBytes"/> bytes), then call <see cref="DotQ8"/> per weight row. This is llama.cpp's
/// decode path (<c>vec_dot_type</c> + <c>vec_dot</c>); results equal ggml's within float rounding.</summary>
public readonly unsafe struct QuantizedDotKernels
{
    public GgmlType WeightType { get; }

    /// <summary>The activation format the weight type multiplies with (ggml's <c>vec_dot_type</c>).</summary>
    public ActivationType ActivationType { get; }

    /// <summary>float activations → <see cref="ActivationType"/> blocks: <c>(x, dst, n)</c>, n a multiple of the block size
    /// (else <see cref="ArgumentException"/>).</summary>
    public delegate*<float*, byte*, int, void> QuantizeActivations { get; }

    /// <summary>Σ w·x over <c>n</c> elements of a weight row (its stored blocks) and a quantised activation row:
    /// <c>(row, activations, n)</c>, n a multiple of the weight type's block size (else <see cref="ArgumentException"/>).</summary>
    public delegate*<byte*, byte*, int, float> DotQ8 { get; }

    /// <summary>Many rows times many tokens (prefill), or null where the type has no tile kernel:
    /// <c>(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride)</c> writes, for r &lt; rows and t &lt; tokens,
    /// <c>y[t·yStride + r] = DotQ8(w + r·wRowBytes, a + t·aRowBytes, n)</c> up to float rounding. Each weight block is
    /// decoded once per 64 tokens instead of once per token; rows and tokens may be any count (callers pass chunks of up
    /// to a few hundred rows, best a multiple of 16, and up to 512 tokens). A row's result has the same bits whichever
    /// chunk of rows it comes in, so splitting rows over threads keeps results independent of the thread count.</summary>
    public delegate*<byte*, long, int, byte*, long, int, int, float*, long, void> DotQ8Tile { get; }

    private QuantizedDotKernels(GgmlType weightType, ActivationType activationType, delegate*<byte*, byte*, int, float> dot,
        delegate*<byte*, long, int, byte*, long, int, int, float*, long, void> tile = null)
    {
        WeightType = weightType;
        ActivationType = activationType;
        QuantizeActivations = ActivationQuantizer(activationType);
        DotQ8 = dot;
        DotQ8Tile = tile;
    }

    /// <summary>The quantiser of one activation format.</summary>
    public static delegate*<float*, byte*, int, void> ActivationQuantizer(ActivationType type) => type switch
    {
        ActivationType.Q8_0 => &Q8_0Activations.Quantize,
        ActivationType.Q8_1 => &Q8_1Activations.Quantize,
        ActivationType.Q8_K => &Q8_KActivations.Quantize,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not an activation type"),
    };

    private static readonly Dictionary<GgmlType, QuantizedDotKernels> Registry = new()
    {
        [GgmlType.Q8_0] = new(GgmlType.Q8_0, ActivationType.Q8_0, &Q8_0Format.DotQ8, &Q8_0Format.DotQ8Tile),
        [GgmlType.Q4_0] = new(GgmlType.Q4_0, ActivationType.Q8_0, &Q4_0Format.DotQ8, &Q4_0Format.DotQ8Tile),
        [GgmlType.Q4_1] = new(GgmlType.Q4_1, ActivationType.Q8_1, &Q4_1Format.DotQ8, &Q4_1Format.DotQ8Tile),
        [GgmlType.Q5_0] = new(GgmlType.Q5_0, ActivationType.Q8_0, &Q5_0Format.DotQ8, &Q5_0Format.DotQ8Tile),
        [GgmlType.Q5_1] = new(GgmlType.Q5_1, ActivationType.Q8_1, &Q5_1Format.DotQ8, &Q5_1Format.DotQ8Tile),
        [GgmlType.Q2_K] = new(GgmlType.Q2_K, ActivationType.Q8_K, &Q2_KFormat.DotQ8, &Q2_KFormat.DotQ8Tile),
        [GgmlType.Q3_K] = new(GgmlType.Q3_K, ActivationType.Q8_K, &Q3_KFormat.DotQ8, &Q3_KFormat.DotQ8Tile),
        [GgmlType.Q4_K] = new(GgmlType.Q4_K, ActivationType.Q8_K, &Q4_KFormat.DotQ8, &Q4_KFormat.DotQ8Tile),
        [GgmlType.Q5_K] = new(GgmlType.Q5_K, ActivationType.Q8_K, &Q5_KFormat.DotQ8, &Q5_KFormat.DotQ8Tile),
        [GgmlType.Q6_K] = new(GgmlType.Q6_K, ActivationType.Q8_K, &Q6_KFormat.DotQ8, &Q6_KFormat.DotQ8Tile),
    };

    /// <summary>The weight types with an integer dot product (F32/F16/BF16 keep the float one).</summary>
    public static IEnumerable<GgmlType> SupportedTypes => Registry.Keys;

    public static bool TryGet(GgmlType weightType, out QuantizedDotKernels kernels) => Registry.TryGetValue(weightType, out kernels);

    /// <summary>Whether the integer path runs vectorised here (AVX2 or AVX-512BW, within <see cref="SimdTier"/>); where
    /// not, its scalar bodies are slower than the float <see cref="BlockKernels.Dot"/>.</summary>
    public static bool IsAccelerated => SimdTier.MaxVectorBits >= 256 && SimdTier.Has256;
}
