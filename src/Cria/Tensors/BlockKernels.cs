using Cria.Tensors.Formats;

namespace Cria.Tensors;

/// <summary>The kernels of one element type as function pointers, so a matmul picks them once per weight.</summary>
public readonly unsafe struct BlockKernels
{
    public GgmlType Type { get; }
    public int BlockElements { get; }
    public int BlockBytes { get; }
    public delegate*<byte*, float*, long, void> Dequantize { get; }
    public delegate*<byte*, float*, int, float> Dot { get; }
    /// <summary>float32 → blocks, as llama-quantize writes them without an importance matrix (see <see cref="IBlockFormat.Quantize"/>).</summary>
    public delegate*<float*, byte*, long, void> Quantize { get; }

    private BlockKernels(GgmlType type, int blockElements, int blockBytes,
        delegate*<byte*, float*, long, void> dequantize, delegate*<byte*, float*, int, float> dot,
        delegate*<float*, byte*, long, void> quantize)
    {
        Quantize = quantize;
        Type = type;
        BlockElements = blockElements;
        BlockBytes = blockBytes;
        Dequantize = dequantize;
        Dot = dot;
    }

    public static BlockKernels For<T>() where T : struct, IBlockFormat =>
        new(T.Type, T.BlockElements, T.BlockBytes, &T.Dequantize, &T.Dot, &T.Quantize);

    private static readonly Dictionary<GgmlType, BlockKernels> Registry = Build();

    private static Dictionary<GgmlType, BlockKernels> Build()
    {
        var list = new[]
        {
            For<F32Format>(),
            For<F16Format>(),
            For<BF16Format>(),
            For<Q8_0Format>(),
            For<Q4_0Format>(),
            For<Q4_1Format>(),
            For<Q5_0Format>(),
            For<Q5_1Format>(),
            For<Q2_KFormat>(),
            For<Q3_KFormat>(),
            For<Q4_KFormat>(),
            For<Q5_KFormat>(),
            For<Q6_KFormat>(),
        };
        return list.ToDictionary(k => k.Type);
    }

    /// <summary>All types Cria can compute with.</summary>
    public static IEnumerable<GgmlType> SupportedTypes => Registry.Keys;

    public static bool TryGet(GgmlType type, out BlockKernels kernels) => Registry.TryGetValue(type, out kernels);

    /// <summary>The kernels for <paramref name="type"/>, or an error naming the tensor that uses an unsupported type.</summary>
    public static BlockKernels Get(GgmlType type, string tensorName) =>
        TryGet(type, out var k) ? k
            : throw new CriaException($"tensor '{tensorName}' has type {TensorTypeInfo.Get(type).Name}, which Cria cannot compute with " +
                                      $"(supported: {string.Join(", ", Registry.Keys.Select(t => TensorTypeInfo.Get(t).Name))})");
}
