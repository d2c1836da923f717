using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Cria.Tensors;
using Cria.Tensors.Activations;

namespace Cria.Bench;

/// <summary>One thread quantising 256 activation rows of 4096 floats (a prompt's worth) to Q8_0, Q8_1 or Q8_K, per SIMD
/// body (512: AVX-512 where the quantiser has one, 256: AVX2, 0: scalar). The GB/s column counts the float32 input read.</summary>
public unsafe class ActivationQuantizeBenchmarks : IBytesPerOperation
{
    private const int Rows = 256, Cols = 4096;
    private float* _x;
    private byte* _blocks;
    private int _previousBits;

    [Params(ActivationType.Q8_0, ActivationType.Q8_1, ActivationType.Q8_K)]
    public ActivationType Type { get; set; }

    [Params(512, 256, 0)]
    public int MaxVectorBits { get; set; }

    public long BytesPerOperation => (long)Rows * Cols * 4;

    [GlobalSetup]
    public void Setup()
    {
        _previousBits = SimdTier.MaxVectorBits;
        SimdTier.MaxVectorBits = MaxVectorBits;
        _x = (float*)NativeMemory.AlignedAlloc((nuint)Rows * Cols * 4, 64);
        _blocks = (byte*)NativeMemory.AlignedAlloc((nuint)(Rows * ActivationLayout.RowBytes(Type, Cols)), 64);
        var random = new Random(1);
        for (long i = 0; i < (long)Rows * Cols; i++) _x[i] = (float)(random.NextDouble() * 2 - 1);
    }

    [Benchmark]
    public void QuantizeRows()
    {
        var quantize = QuantizedDotKernels.ActivationQuantizer(Type);
        long rowBytes = ActivationLayout.RowBytes(Type, Cols);
        for (int r = 0; r < Rows; r++) quantize(_x + (long)r * Cols, _blocks + r * rowBytes, Cols);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        SimdTier.MaxVectorBits = _previousBits;
        NativeMemory.AlignedFree(_x);
        NativeMemory.AlignedFree(_blocks);
    }
}
