using Cria.IO;
using Cria.Tensors.Activations;
using Cria.Tensors.Interleaved;

namespace Cria.Tensors.Kernels;

/// <summary>A matmul input quantised to 8-bit blocks, one buffer per <see cref="ActivationType"/> (and one for the input
/// scaled by a power of two, which F16 groups read, and one laid out for F16/BF16 rows): made once per dispatch and shared by every matrix on that input
/// (q/k/v, gate/up), grown only when a batch needs more.</summary>
internal sealed unsafe class ActivationBuffers : IDisposable
{
    private const int Types = 3;
    private const int ScaledSlot = Types;
    private const int PairedSlot = Types + 1;
    private readonly NativeBuffer?[] _buffers = new NativeBuffer?[Types + 2];
    private readonly bool[] _current = new bool[Types + 2];
    private float _scale;
    private GgmlType _pairedType;

    /// <summary>Forgets what was quantised: the next input is a new one.</summary>
    public void Reset() => Array.Clear(_current);

    /// <summary>The rows of <paramref name="x"/> (tokens × cols, row stride xStride) in <paramref name="kernels"/>'
    /// activation type, quantised now unless this dispatch already did (its matrices share x, so cols too).</summary>
    public byte* Get(in QuantizedDotKernels kernels, float* x, int xStride, int tokens, int cols, out long rowBytes)
    {
        int slot = Slot(kernels.ActivationType);
        rowBytes = ActivationLayout.RowBytes(kernels.ActivationType, cols);
        if (!_current[slot])
        {
            byte* dst = (byte*)Buffer(slot, rowBytes * tokens);
            for (int t = 0; t < tokens; t++) kernels.QuantizeActivations(x + (long)t * xStride, dst + t * rowBytes, cols);
            _current[slot] = true;
        }
        return (byte*)_buffers[slot]!.Pointer;
    }

    /// <summary>The rows of <paramref name="x"/> times <paramref name="scale"/> (a power of two: exact), or x itself for 1.</summary>
    public float* GetScaled(float scale, float* x, int xStride, int tokens, int cols, out long rowBytes)
    {
        if (scale == 1f)
        {
            rowBytes = (long)xStride * sizeof(float);
            return x;
        }
        rowBytes = (long)cols * sizeof(float);
        if (!_current[ScaledSlot] || _scale != scale)
        {
            float* dst = (float*)Buffer(ScaledSlot, rowBytes * tokens);
            for (int t = 0; t < tokens; t++)
                System.Numerics.Tensors.TensorPrimitives.Multiply(new ReadOnlySpan<float>(x + (long)t * xStride, cols), scale, new Span<float>(dst + (long)t * cols, cols));
            _current[ScaledSlot] = true;
            _scale = scale;
        }
        return _buffers[ScaledSlot]!.Pointer;
    }

    /// <summary>The rows of <paramref name="x"/> as <paramref name="kernels"/>' row dot reads them, laid out now unless
    /// this dispatch already did for the same type.</summary>
    public float* GetPaired(in HalfPairRowKernels kernels, float* x, int xStride, int tokens, int cols, out long rowBytes)
    {
        rowBytes = (long)cols * sizeof(float);
        if (!_current[PairedSlot] || _pairedType != kernels.Type)
        {
            float* dst = (float*)Buffer(PairedSlot, rowBytes * tokens);
            for (int t = 0; t < tokens; t++) kernels.Prepare(x + (long)t * xStride, dst + (long)t * cols, cols);
            _current[PairedSlot] = true;
            _pairedType = kernels.Type;
        }
        return _buffers[PairedSlot]!.Pointer;
    }

    private float* Buffer(int slot, long bytes)
    {
        long floats = (bytes + sizeof(float) - 1) / sizeof(float);
        var buffer = _buffers[slot];
        if (buffer == null || buffer.Length < floats)
        {
            buffer?.Dispose();
            _buffers[slot] = buffer = new NativeBuffer(floats, clear: false);
        }
        return buffer.Pointer;
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
