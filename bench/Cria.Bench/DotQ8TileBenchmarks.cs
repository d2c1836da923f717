using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Cria.Tensors;
using Cria.Tensors.Activations;

namespace Cria.Bench;

/// <summary>Prefill with quantised weights on one thread: a TinyLlama weight matrix times 512 tokens of 8-bit
/// activations, by <see cref="QuantizedDotKernels.DotQ8Tile"/> (256-row chunks, as a matmul hands them out) and by the
/// per-token <see cref="QuantizedDotKernels.DotQ8"/> loop it replaces. GOP/s = 2·rows·cols·tokens per second (the
/// GFLOP/s column, from the mean; Min shows the best run on a busy machine); the machine's int8 multiply-add peak is in
/// <c>cria bench --machine</c>:
/// <c>dotnet run -c Release --project bench/Cria.Bench -- --filter '*DotQ8Tile*'</c>.</summary>
[Config(typeof(GigaflopsConfig)), MinColumn]
public unsafe class DotQ8TileBenchmarks : IBytesPerOperation, IFlopsPerOperation
{
    private const int Tokens = 512;
    private const int RowChunk = 256;
    private byte* _weights;
    private byte* _activations;
    private float* _y;
    private QuantizedDotKernels _kernels;

    [ParamsSource(nameof(Types))]
    public GgmlType Type { get; set; }

    /// <summary>Every type with a tile kernel, or those named in <c>CRIA_BENCH_TYPES</c> (e.g. <c>Q4_0,Q4_K</c>): all ten
    /// take the better part of an hour.</summary>
    public static IEnumerable<GgmlType> Types => QuantizedDotKernels.SupportedTypes
        .Where(t => QuantizedDotKernels.TryGet(t, out var k) && k.DotQ8Tile != null)
        .Where(BenchTypes.Selected)
        .OrderBy(t => (uint)t);

    /// <summary>rows x cols: TinyLlama 1.1B's attention (2048²) and FFN gate/up (5632 × 2048).</summary>
    [Params("2048x2048", "5632x2048")]
    public string Shape { get; set; } = "2048x2048";

    private int Rows => int.Parse(Shape.Split('x')[0]);
    private int Cols => int.Parse(Shape.Split('x')[1]);
    private long RowBytes => TensorTypeInfo.Get(Type).RowBytes(Cols);
    private long ActivationRowBytes => ActivationLayout.RowBytes(_kernels.ActivationType, Cols);

    public long BytesPerOperation => RowBytes * Rows;
    public double FlopsPerOperation => 2.0 * Rows * Cols * Tokens;

    [GlobalSetup]
    public void Setup()
    {
        QuantizedDotKernels.TryGet(Type, out _kernels);
        _weights = RandomBlocks.Make(Type, Rows, Cols);
        _activations = (byte*)NativeMemory.AlignedAlloc((nuint)(Tokens * ActivationRowBytes), 64);
        _y = (float*)NativeMemory.AlignedAlloc((nuint)((long)Tokens * Rows * 4), 64);
        float* x = (float*)NativeMemory.AlignedAlloc((nuint)Cols * 4, 64);
        var random = new Random(1);
        for (int t = 0; t < Tokens; t++)
        {
            for (int i = 0; i < Cols; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
            _kernels.QuantizeActivations(x, _activations + t * ActivationRowBytes, Cols);
        }
        NativeMemory.AlignedFree(x);
    }

    [Benchmark(Baseline = true)]
    public void RowDots()
    {
        var dot = _kernels.DotQ8;
        int rows = Rows, cols = Cols;
        long rowBytes = RowBytes, aRowBytes = ActivationRowBytes;
        for (int r0 = 0; r0 < rows; r0 += RowChunk)
            for (int t = 0; t < Tokens; t++)
                for (int r = r0; r < Math.Min(rows, r0 + RowChunk); r++)
                    _y[(long)t * rows + r] = dot(_weights + r * rowBytes, _activations + t * aRowBytes, cols);
    }

    [Benchmark]
    public void Tile()
    {
        var tile = _kernels.DotQ8Tile;
        int rows = Rows;
        for (int r0 = 0; r0 < rows; r0 += RowChunk)
            tile(_weights + r0 * RowBytes, RowBytes, Math.Min(RowChunk, rows - r0), _activations, ActivationRowBytes, Tokens, Cols, _y + r0, rows);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_weights);
        NativeMemory.AlignedFree(_activations);
        NativeMemory.AlignedFree(_y);
    }
}
