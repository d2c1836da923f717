using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Cria.Tensors;
using Cria.Tensors.Activations;

namespace Cria.Bench;

/// <summary>One thread computing W·x for a 4096 x 4096 weight matrix, per quantised type: the float dot (dequantise on
/// the fly, the baseline) against llama.cpp's decode path, which quantises x once to 8 bits (Q8_0, Q8_1 or Q8_K, counted
/// in the time) and runs the integer DotQ8 per row. <see cref="MaxVectorBits"/> picks the AVX-512 or the AVX2 bodies.
/// The GB/s column counts the weight bytes, as <see cref="DotBenchmarks"/> does.</summary>
public unsafe class DotQ8Benchmarks : IBytesPerOperation
{
    private const int Rows = 4096, Cols = 4096;
    private byte* _weights;
    private float* _x;
    private byte* _activations;
    private float* _y;
    private BlockKernels _float;
    private QuantizedDotKernels _integer;
    private int _previousBits;

    [ParamsSource(nameof(Types))]
    public GgmlType Type { get; set; }

    /// <summary>512 (AVX-512BW bodies where the machine has them) or 256 (AVX2).</summary>
    [Params(512, 256)]
    public int MaxVectorBits { get; set; }

    /// <summary>Every type with an integer dot, or those named in <c>CRIA_BENCH_TYPES</c>.</summary>
    public static IEnumerable<GgmlType> Types => QuantizedDotKernels.SupportedTypes.Where(BenchTypes.Selected).OrderBy(t => (uint)t);

    public long BytesPerOperation => TensorTypeInfo.Get(Type).RowBytes(Cols) * Rows;

    [GlobalSetup]
    public void Setup()
    {
        _previousBits = SimdTier.MaxVectorBits;
        SimdTier.MaxVectorBits = MaxVectorBits;
        _float = BlockKernels.Get(Type, "bench");
        if (!QuantizedDotKernels.TryGet(Type, out _integer)) throw new InvalidOperationException($"{Type} has no DotQ8");
        _weights = RandomBlocks.Make(Type, Rows, Cols);
        _x = (float*)NativeMemory.AlignedAlloc(Cols * 4, 64);
        _activations = (byte*)NativeMemory.AlignedAlloc((nuint)ActivationLayout.RowBytes(_integer.ActivationType, Cols), 64);
        _y = (float*)NativeMemory.AlignedAlloc(Rows * 4, 64);
        var random = new Random(1);
        for (int i = 0; i < Cols; i++) _x[i] = (float)(random.NextDouble() * 2 - 1);
    }

    [Benchmark(Baseline = true)]
    public void FloatDot()
    {
        long rowBytes = TensorTypeInfo.Get(Type).RowBytes(Cols);
        for (int r = 0; r < Rows; r++) _y[r] = _float.Dot(_weights + r * rowBytes, _x, Cols);
    }

    [Benchmark]
    public void QuantizeThenDotQ8()
    {
        long rowBytes = TensorTypeInfo.Get(Type).RowBytes(Cols);
        _integer.QuantizeActivations(_x, _activations, Cols);
        for (int r = 0; r < Rows; r++) _y[r] = _integer.DotQ8(_weights + r * rowBytes, _activations, Cols);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        SimdTier.MaxVectorBits = _previousBits;
        NativeMemory.AlignedFree(_weights);
        NativeMemory.AlignedFree(_x);
        NativeMemory.AlignedFree(_activations);
        NativeMemory.AlignedFree(_y);
    }
}
