using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Cria.Tensors;
using Cria.Tensors.Interleaved;

namespace Cria.Bench;

/// <summary>One thread, one token, F16/BF16 rows as the file stores them (as <c>--no-repack</c> leaves them): the
/// format's row dot against the row kernel over even/odd activation halves (<see cref="HalfPairRows{T}"/>, the
/// activations laid out once), for 2048-wide rows and 8192-wide ones (a down projection, whose 32 KiB of float
/// activations fill L1). The matrix is 64 MiB, far larger than cache. GB/s counts the weight bytes.</summary>
public unsafe class HalfPairRowsBenchmarks : IBytesPerOperation
{
    private const long MatrixBytes = 64L << 20;
    private byte* _rows;
    private float* _x;
    private float* _activations;
    private float* _y;

    public static IEnumerable<GgmlType> Types => new[] { GgmlType.F16, GgmlType.BF16 }.Where(BenchTypes.Selected);

    [ParamsSource(nameof(Types))]
    public GgmlType Type { get; set; }

    [Params(2048, 8192)]
    public int Cols { get; set; }

    private int Rows => (int)(MatrixBytes / (2L * Cols));

    public long BytesPerOperation => MatrixBytes;

    [GlobalSetup]
    public void Setup()
    {
        _rows = RandomBlocks.Make(Type, Rows, Cols);
        _x = (float*)NativeMemory.AlignedAlloc((nuint)Cols * 4, 64);
        _activations = (float*)NativeMemory.AlignedAlloc((nuint)Cols * 4, 64);
        _y = (float*)NativeMemory.AlignedAlloc((nuint)Rows * 4, 64);
        var random = new Random(1);
        for (int i = 0; i < Cols; i++) _x[i] = (float)(random.NextDouble() * 2 - 1);
    }

    [Benchmark(Baseline = true)]
    public void FormatRowDot()
    {
        var dot = BlockKernels.Get(Type, "w").Dot;
        for (int r = 0; r < Rows; r++) _y[r] = dot(_rows + 2L * r * Cols, _x, Cols);
    }

    [Benchmark]
    public void PairRows()
    {
        if (!HalfPairRowKernels.TryGet(Type, Cols, out var kernels)) throw new PlatformNotSupportedException("the row kernel needs AVX-512");
        kernels.Prepare(_x, _activations, Cols);
        for (int r = 0; r < Rows; r++) _y[r] = kernels.Dot(_rows + 2L * r * Cols, (byte*)_activations, Cols);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_rows);
        NativeMemory.AlignedFree(_x);
        NativeMemory.AlignedFree(_activations);
        NativeMemory.AlignedFree(_y);
    }
}
