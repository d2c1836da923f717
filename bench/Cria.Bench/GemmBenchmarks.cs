using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Cria.Tensors;
using Cria.Tensors.Kernels.Gemm;

namespace Cria.Bench;

/// <summary>Prefill on one thread: a float weight matrix times 512 tokens, by the GEMM (one call for the whole matrix)
/// and by the row-dot path it replaces (each row's Dot reused for 16 tokens, as MatMul did). GFLOP/s = 2·rows·cols·tokens
/// per second; compare with <see cref="FmaPeakBenchmarks"/>:
/// <c>dotnet run -c Release --project bench/Cria.Bench -- --filter '*Gemm*' '*FmaPeak*'</c>.</summary>
[Config(typeof(GigaflopsConfig))]
public unsafe class GemmBenchmarks : IBytesPerOperation, IFlopsPerOperation
{
    private const int Tokens = 512;
    private byte* _weights;
    private float* _x;
    private float* _y;
    private float* _scratch;

    [Params(GgmlType.F16, GgmlType.BF16, GgmlType.F32)]
    public GgmlType Type { get; set; }

    /// <summary>rows x cols: TinyLlama 1.1B's attention (2048²), FFN gate/up (5632 × 2048) and down (2048 × 5632).</summary>
    [Params("2048x2048", "5632x2048", "2048x5632")]
    public string Shape { get; set; } = "2048x2048";

    private int Rows => int.Parse(Shape.Split('x')[0]);
    private int Cols => int.Parse(Shape.Split('x')[1]);
    private long RowBytes => TensorTypeInfo.Get(Type).RowBytes(Cols);

    public long BytesPerOperation => RowBytes * Rows;
    public double FlopsPerOperation => 2.0 * Rows * Cols * Tokens;

    [GlobalSetup]
    public void Setup()
    {
        _weights = RandomBlocks.Make(Type, Rows, Cols);
        _x = (float*)NativeMemory.AlignedAlloc((nuint)((long)Tokens * Cols * 4), 64);
        _y = (float*)NativeMemory.AlignedAlloc((nuint)((long)Tokens * Rows * 4), 64);
        _scratch = (float*)NativeMemory.AlignedAlloc(FloatGemmKernels.ScratchFloats * sizeof(float), 64);
        var random = new Random(1);
        for (long i = 0; i < (long)Tokens * Cols; i++) _x[i] = (float)(random.NextDouble() * 2 - 1);
    }

    [Benchmark(Baseline = true)]
    public void RowDots()
    {
        var dot = BlockKernels.Get(Type, "bench").Dot;
        int rows = Rows, cols = Cols;
        long rowBytes = RowBytes;
        for (int t0 = 0; t0 < Tokens; t0 += 16)
            for (int r = 0; r < rows; r++)
                for (int t = t0; t < Math.Min(Tokens, t0 + 16); t++)
                    _y[(long)t * rows + r] = dot(_weights + r * rowBytes, _x + (long)t * cols, cols);
    }

    [Benchmark]
    public void Gemm()
    {
        FloatGemmKernels.TryGet(Type, out var gemm);
        gemm.Multiply(_weights, RowBytes, Rows, _x, Cols, Tokens, Cols, _y, Rows, _scratch);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_weights);
        NativeMemory.AlignedFree(_x);
        NativeMemory.AlignedFree(_y);
        NativeMemory.AlignedFree(_scratch);
    }
}

/// <summary>The core's FMA peak: twelve independent chains of fused multiply-adds that never touch memory (enough to
/// cover the 4-cycle latency on both FMA pipes), 512- and 256-bit.</summary>
[Config(typeof(GigaflopsConfig))]
public class FmaPeakBenchmarks : IBytesPerOperation, IFlopsPerOperation
{
    private const int Iterations = 1 << 22;
    private const int Chains = 12;

    [Params(512, 256)]
    public int Bits { get; set; }

    public long BytesPerOperation => 0;
    public double FlopsPerOperation => 2.0 * Chains * (Bits / 32) * Iterations;

    [Benchmark]
    public float Fma() => Bits == 512 ? Fma512(Vector512.Create(0.999f), Vector512.Create(0.001f)) : Fma256(Vector256.Create(0.999f), Vector256.Create(0.001f));

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Fma512(Vector512<float> m, Vector512<float> c)
    {
        Vector512<float> a0 = c, a1 = c, a2 = c, a3 = c, a4 = c, a5 = c, a6 = c, a7 = c, a8 = c, a9 = c, a10 = c, a11 = c;
        for (int i = 0; i < Iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c);
            a2 = Vector512.FusedMultiplyAdd(a2, m, c); a3 = Vector512.FusedMultiplyAdd(a3, m, c);
            a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c);
            a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c);
            a8 = Vector512.FusedMultiplyAdd(a8, m, c); a9 = Vector512.FusedMultiplyAdd(a9, m, c);
            a10 = Vector512.FusedMultiplyAdd(a10, m, c); a11 = Vector512.FusedMultiplyAdd(a11, m, c);
        }
        return Vector512.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Fma256(Vector256<float> m, Vector256<float> c)
    {
        Vector256<float> a0 = c, a1 = c, a2 = c, a3 = c, a4 = c, a5 = c, a6 = c, a7 = c, a8 = c, a9 = c, a10 = c, a11 = c;
        for (int i = 0; i < Iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c);
            a2 = Vector256.FusedMultiplyAdd(a2, m, c); a3 = Vector256.FusedMultiplyAdd(a3, m, c);
            a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c);
            a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c);
            a8 = Vector256.FusedMultiplyAdd(a8, m, c); a9 = Vector256.FusedMultiplyAdd(a9, m, c);
            a10 = Vector256.FusedMultiplyAdd(a10, m, c); a11 = Vector256.FusedMultiplyAdd(a11, m, c);
        }
        return Vector256.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }
}

/// <summary>Benchmarks that do a known number of floating-point operations per call implement this for a GFLOP/s column.</summary>
public interface IFlopsPerOperation
{
    double FlopsPerOperation { get; }
}

/// <summary>Adds the GFLOP/s column.</summary>
public sealed class GigaflopsConfig : ManualConfig
{
    public GigaflopsConfig() => AddColumn(new GigaflopsColumn());
}

/// <summary>GFLOP/s = floating-point operations per call / mean time per call.</summary>
public sealed class GigaflopsColumn : IColumn
{
    public string Id => "GFLOPs";
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 1;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Floating-point operations per second (an FMA is two), in 10^9";
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        if (summary[benchmarkCase]?.ResultStatistics is not { } stats) return "-";
        if (Activator.CreateInstance(benchmarkCase.Descriptor.Type) is not IFlopsPerOperation instance) return "-";
        foreach (var p in benchmarkCase.Parameters.Items)
            benchmarkCase.Descriptor.Type.GetProperty(p.Name)?.SetValue(instance, p.Value);
        return (instance.FlopsPerOperation / stats.Mean).ToString("F1"); // flops per ns = GFLOP/s
    }
}
