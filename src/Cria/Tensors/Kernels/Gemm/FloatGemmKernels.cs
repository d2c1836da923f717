using Cria.Tensors.Formats;

namespace Cria.Tensors.Kernels.Gemm;

/// <summary>The prefill GEMM of one float weight type: y[t, r] = W[r] · x[t] for a tile of rows × tokens.</summary>
public readonly unsafe struct FloatGemmKernel
{
    public GgmlType Type { get; }

    /// <summary><c>Multiply(w, wRowBytes, rows, x, xStride, tokens, cols, y, yStride, scratch)</c>: W is rows × cols
    /// in the stored type (row r at w + r · wRowBytes), x is tokens × cols floats (token t at x + t · xStride), y
    /// receives tokens × rows floats (token t's outputs at y + t · yStride; overwritten). Strides are in elements.
    /// <c>scratch</c> is <see cref="ScratchFloats"/> floats owned by the calling thread (64-byte aligned for speed).</summary>
    public delegate*<byte*, long, int, float*, long, int, int, float*, long, float*, void> Multiply { get; }

    /// <summary>Floats of scratch a call needs, whatever the shape (allocate once per thread).</summary>
    public int ScratchFloats { get; }

    internal FloatGemmKernel(GgmlType type, delegate*<byte*, long, int, float*, long, int, int, float*, long, float*, void> multiply,
        int scratchFloats)
    {
        Type = type;
        Multiply = multiply;
        ScratchFloats = scratchFloats;
    }
}

/// <summary>Which weight types have a prefill GEMM (F32, F16, BF16), and its function pointer. Tiles run fastest
/// with rows a multiple of 64 and as many tokens as the batch has (the packed weights are reused by every token).</summary>
public static unsafe class FloatGemmKernels
{
    /// <summary>Floats of scratch any of these kernels needs per thread.</summary>
    public const int ScratchFloats = FloatGemm<F32Format>.ScratchFloats;

    private static readonly FloatGemmKernel[] Kernels =
    [
        new(GgmlType.F32, &F32Gemm.Multiply, FloatGemm<F32Format>.ScratchFloats),
        new(GgmlType.F16, &F16Gemm.Multiply, FloatGemm<F16Format>.ScratchFloats),
        new(GgmlType.BF16, &BF16Gemm.Multiply, FloatGemm<BF16Format>.ScratchFloats),
    ];

    /// <summary>The GEMM for <paramref name="type"/>, if it has one.</summary>
    public static bool TryGet(GgmlType type, out FloatGemmKernel kernel)
    {
        foreach (var k in Kernels)
            if (k.Type == type)
            {
                kernel = k;
                return true;
            }
        kernel = default;
        return false;
    }

    /// <summary>The types with a GEMM.</summary>
    public static IEnumerable<GgmlType> SupportedTypes => Kernels.Select(k => k.Type);
}
