using BenchmarkDotNet.Attributes;
using Cria.Tensors;

namespace Cria.Bench;

/// <summary>One thread computing W·x for a weight matrix larger than the caches, per stored type: the decode hot path.</summary>
public unsafe class DotBenchmarks : IBytesPerOperation
{
    private const int Rows = 4096, Cols = 4096;
    private byte* _weights;
    private float* _x;
    private float* _y;
    private BlockKernels _kernels;

    [ParamsSource(nameof(Types))]
    public GgmlType Type { get; set; }

    public static IEnumerable<GgmlType> Types => BlockKernels.SupportedTypes.OrderBy(t => (uint)t);

    public long BytesPerOperation => TensorTypeInfo.Get(Type).RowBytes(Cols) * Rows;

    [GlobalSetup]
    public void Setup()
    {
        _kernels = BlockKernels.Get(Type, "bench");
        _weights = RandomBlocks.Make(Type, Rows, Cols);
        _x = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(Cols * 4, 64);
        _y = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(Rows * 4, 64);
        var random = new Random(1);
        for (int i = 0; i < Cols; i++) _x[i] = (float)(random.NextDouble() * 2 - 1);
    }

    [Benchmark]
    public void MatVec()
    {
        long rowBytes = TensorTypeInfo.Get(Type).RowBytes(Cols);
        for (int r = 0; r < Rows; r++) _y[r] = _kernels.Dot(_weights + r * rowBytes, _x, Cols);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_weights);
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_x);
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_y);
    }
}
