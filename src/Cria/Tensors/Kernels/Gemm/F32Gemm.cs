using Cria.Tensors.Formats;

namespace Cria.Tensors.Kernels.Gemm;

/// <summary>Prefill GEMM for F32 weights (see <see cref="FloatGemmKernel.Multiply"/>).</summary>
public static unsafe class F32Gemm
{
    /// <inheritdoc cref="FloatGemmKernel.Multiply"/>
    public static void Multiply(byte* w, long wRowBytes, int rows, float* x, long xStride, int tokens, int cols,
        float* y, long yStride, float* scratch) =>
        FloatGemm<F32Format>.Multiply(w, wRowBytes, rows, x, xStride, tokens, cols, y, yStride, scratch);
}
