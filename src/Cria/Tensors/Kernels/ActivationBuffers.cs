using Cria.IO;
using Cria.Tensors.Activations;

namespace Cria.Tensors.Kernels;

/// <summary>A matmul input quantised to 8-bit blocks, one buffer per <see cref="ActivationType"/>: made once per
/// dispatch and shared by every matrix on that input (q/k/v, gate/up), grown only when a batch needs more.</summary>
internal sealed unsafe class ActivationBuffers : IDisposable
{
    private const int Types = 3;
    private readonly NativeBuffer?[] _buffers = new NativeBuffer?[Types];
    private readonly bool[] _current = new bool[Types];

    /// <summary>Forgets what was quantised: the next input is a new one.</summary>
    public void Reset() => Array.Clear(_current);

    /// <summary>The rows of <paramref name="x"/> (tokens × cols, row stride xStride) in <paramref name="kernels"/>'
    /// activation type, quantised now unless this dispatch already did (its matrices share x, so cols too).</summary>
    public byte* Get(in QuantizedDotKernels kernels, float* x, int xStride, int tokens, int cols, out long rowBytes)
    {
        int slot = Slot(kernels.ActivationType);
        rowBytes = ActivationLayout.RowBytes(kernels.ActivationType, cols);
        var buffer = _buffers[slot];
        if (!_current[slot])
        {
            long floats = (rowBytes * tokens + sizeof(float) - 1) / sizeof(float);
            if (buffer == null || buffer.Length < floats)
            {
                buffer?.Dispose();
                _buffers[slot] = buffer = new NativeBuffer(floats, clear: false);
            }
            byte* dst = (byte*)buffer.Pointer;
            for (int t = 0; t < tokens; t++) kernels.QuantizeActivations(x + (long)t * xStride, dst + t * rowBytes, cols);
            _current[slot] = true;
        }
        return (byte*)buffer!.Pointer;
    }

    private static int Slot(ActivationType type) => type switch
    {
        ActivationType.Q8_0 => 0,
        ActivationType.Q8_1 => 1,
        _ => 2,
    };

    public void Dispose()
    {
        foreach (var b in _buffers) b?.Dispose();
    }
}
