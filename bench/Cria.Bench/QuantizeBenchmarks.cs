using BenchmarkDotNet.Attributes;
using Cria.Tensors;

namespace Cria.Bench;

/// <summary>One thread quantising a 1024 x 4096 float32 matrix, per type: what <c>cria quantize</c> spends its time on
/// (the GB/s column counts the float32 input read).</summary>
public unsafe class QuantizeBenchmarks : IBytesPerOperation
{
    private const int Rows = 1024, Cols = 4096;
    private float* _x;
    private byte* _blocks;
    private BlockKernels _kernels;

    [ParamsSource(nameof(Types))]
    public GgmlType Type { get; set; }

    public static IEnumerable<GgmlType> Types => BlockKernels.SupportedTypes.Where(t => t != GgmlType.F32).OrderBy(t => (uint)t);

    public long BytesPerOperation => (long)Rows * Cols * 4;

    [GlobalSetup]
    public void Setup()
    {
        _kernels = BlockKernels.Get(Type, "bench");
        _x = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)Rows * Cols * 4, 64);
        _blocks = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)Rows * Cols * 4, 64);
        var random = new Random(1);
        for (long i = 0; i < (long)Rows * Cols; i++) _x[i] = (float)((random.NextDouble() * 2 - 1) * random.NextDouble()) * 0.05f;
    }

    [Benchmark]
    public void QuantizeMatrix()
    {
        long rowBytes = TensorTypeInfo.Get(Type).RowBytes(Cols);
        for (int r = 0; r < Rows; r++) _kernels.Quantize(_x + (long)r * Cols, _blocks + r * rowBytes, Cols);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_x);
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_blocks);
    }
}
