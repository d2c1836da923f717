using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Cria.Tensors;
using Cria.Tensors.Interleaved;

namespace Cria.Bench;

/// <summary>One thread, one token, a 4096 x 4096 weight matrix: the decode step on rows as the file stores them
/// (quantise x, then DotQ8 per row; F16/BF16: the float row dot) against the same rows repacked at load into 16-row
/// interleaved groups (quantise or scale x, then one Gemv over the groups). GB/s counts the weight bytes, as
/// <see cref="DotQ8Benchmarks"/> does. <see cref="Rows"/> = 256 keeps the matrix in L2 (at most 2 MiB for F16), so it
/// shows the kernel's compute limit; 4096 streams it from L3 and memory.</summary>
public unsafe class InterleavedGemvBenchmarks : IBytesPerOperation
{
    private const int Cols = 4096;
    private byte* _rows;
    private byte* _groups;
    private Cria.IO.NativeBuffer _groupBuffer = null!;
    private float* _x;
    private byte* _activations;
    private float* _y;
    private InterleavedLayout _layout = null!;

    /// <summary>Every type with an interleaved layout, or those named in <c>CRIA_BENCH_TYPES</c>.</summary>
    public static IEnumerable<GgmlType> Types => InterleavedLayout.All.Select(l => l.Type).Where(BenchTypes.Selected);

    [ParamsSource(nameof(Types))]
    public GgmlType Type { get; set; }

    [Params(256, 32768)]
    public int Rows { get; set; }

    public long BytesPerOperation => TensorTypeInfo.Get(Type).RowBytes(Cols) * Rows;

    [GlobalSetup]
    public void Setup()
    {
        _layout = InterleavedLayout.All.Single(l => l.Type == Type);
        long bytes = BytesPerOperation;
        _rows = RandomBlocks.Make(Type, Rows, Cols);
        _groupBuffer = new Cria.IO.NativeBuffer((bytes + 3) / 4, clear: false, hugePages: true); // in 2 MiB pages, as the loader's
        _groups = (byte*)_groupBuffer.Pointer;
        Buffer.MemoryCopy(_rows, _groups, bytes, bytes);
        _layout.Repack(_groups, Rows, Cols);
        _x = (float*)NativeMemory.AlignedAlloc(Cols * 4, 64);
        long activationBytes = _layout.FloatActivations ? Cols * sizeof(float) : Tensors.Activations.ActivationLayout.RowBytes(_layout.Dot.ActivationType, Cols);
        _activations = (byte*)NativeMemory.AlignedAlloc((nuint)activationBytes, 64);
        _y = (float*)NativeMemory.AlignedAlloc((nuint)Rows * 4, 64);
        var random = new Random(1);
        for (int i = 0; i < Cols; i++) _x[i] = (float)(random.NextDouble() * 2 - 1);
    }

    [Benchmark(Baseline = true)]
    public void RowDotQ8()
    {
        long rowBytes = TensorTypeInfo.Get(Type).RowBytes(Cols);
        if (_layout.FloatActivations)
        {
            var dot = BlockKernels.Get(Type, "w").Dot;
            for (int r = 0; r < Rows; r++) _y[r] = dot(_rows + r * rowBytes, _x, Cols);
            return;
        }
        _layout.Dot.QuantizeActivations(_x, _activations, Cols);
        for (int r = 0; r < Rows; r++) _y[r] = _layout.Dot.DotQ8(_rows + r * rowBytes, _activations, Cols);
    }

    [Benchmark]
    public void InterleavedGemv()
    {
        if (_layout.FloatActivations)
            System.Numerics.Tensors.TensorPrimitives.Multiply(new ReadOnlySpan<float>(_x, Cols), _layout.ActivationScale, new Span<float>((float*)_activations, Cols));
        else _layout.Dot.QuantizeActivations(_x, _activations, Cols);
        _layout.Gemv(_groups, Rows / _layout.GroupRows, _activations, Cols, _y);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_rows);
        _groupBuffer.Dispose();
        NativeMemory.AlignedFree(_x);
        NativeMemory.AlignedFree(_activations);
        NativeMemory.AlignedFree(_y);
    }
}
