using System.Numerics.Tensors;

namespace Cria.Tensors.Kernels;

/// <summary>RMSNorm: y = x / sqrt(mean(x²) + eps) * w (Llama's pre-normalisation).</summary>
public static class RmsNorm
{
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y)
    {
        // Sum in double, as ggml does (ggml_float), so long rows do not lose precision.
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += (double)x[i] * x[i];
        float scale = (float)(1.0 / Math.Sqrt(sum / x.Length + eps));
        TensorPrimitives.Multiply(x, scale, y);
        TensorPrimitives.Multiply(y, weight, y);
    }
}
