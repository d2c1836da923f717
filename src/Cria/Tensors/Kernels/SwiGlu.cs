using System.Numerics.Tensors;

namespace Cria.Tensors.Kernels;

/// <summary>The SwiGLU gate: gate = SiLU(gate) * up, with SiLU(a) = a · σ(a).</summary>
public static class SwiGlu
{
    /// <param name="gate">W1·x on input, the gated activation on output.</param>
    /// <param name="up">W3·x.</param>
    /// <param name="scratch">Room for gate.Length floats.</param>
    public static void Apply(Span<float> gate, ReadOnlySpan<float> up, Span<float> scratch)
    {
        var sigmoid = scratch[..gate.Length];
        TensorPrimitives.Sigmoid(gate, sigmoid);
        TensorPrimitives.Multiply(gate, sigmoid, gate);
        TensorPrimitives.Multiply(gate, up, gate);
    }
}
