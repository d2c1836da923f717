using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cria.IO;
using Cria.Threading;

namespace Cria.Benchmarking;

/// <summary>What this machine can do at best, measured with our own kernels: streaming-read memory bandwidth, float
/// FMA throughput and 8-bit multiply-add throughput (vpmaddubsw + vpmaddwd, the int8 dot .NET can emit here), per
/// thread count. Decode speed is judged against the first, prompt processing against the others.</summary>
public static unsafe class MachineLimits
{
    public readonly record struct Figure(string What, int Threads, double Value, string Unit);

    public static List<Figure> Measure(IEnumerable<int> threadCounts, long bufferBytes = 1L << 30)
    {
        var threads = threadCounts.ToArray();
        var figures = new List<Figure>();
        figures.AddRange(MemoryRead(threads, bufferBytes, hugePages: false));
        // Repacked weights live in 2 MiB pages (fewer TLB misses), the file's own pages in 4 KiB ones: decode reads both.
        if (HugePages.Enabled) figures.AddRange(MemoryRead(threads, bufferBytes, hugePages: true));
        foreach (int t in threads) figures.Add(new Figure("fp32 FMA", t, Compute(t, &FmaJob.Run, FmaJob.FlopsPerCall), "GFLOP/s"));
        if (Avx512BW.IsSupported)
            foreach (int t in threads) figures.Add(new Figure("int8 multiply-add", t, Compute(t, &Int8Job.Run, Int8Job.OpsPerCall), "GOP/s"));
        return figures;
    }

    private static List<Figure> MemoryRead(int[] threads, long bytes, bool hugePages)
    {
        using var buffer = new NativeBuffer(bytes / sizeof(float), clear: true, ownPages: false, hugePages: hugePages); // every page faulted in first
        return threads.Select(t => new Figure(hugePages ? "memory read (2M pages)" : "memory read", t,
            StreamRead((byte*)buffer.Pointer, bytes, t), "GB/s")).ToList();
    }

    private static double StreamRead(byte* buffer, long bytes, int threads)
    {
        using var pool = new WorkerPool(threads);
        var job = new ReadJob(buffer, bytes, threads);
        double best = double.MaxValue;
        for (int round = 0; round < 7; round++)
        {
            long start = Stopwatch.GetTimestamp();
            pool.Run(job, threads);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return bytes / best / 1e9;
    }

    private static double Compute(int threads, delegate*<long, float> kernel, double opsPerCall)
    {
        using var pool = new WorkerPool(threads);
        var job = new ComputeJob(kernel);
        double best = double.MaxValue;
        const long calls = 2_000_000;
        job.Calls = calls;
        for (int round = 0; round < 5; round++)
        {
            long start = Stopwatch.GetTimestamp();
            pool.Run(job, threads);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return opsPerCall * calls * threads / best / 1e9;
    }

    private sealed class ReadJob(byte* buffer, long bytes, int parts) : ParallelJob
    {
        public float Sink;

        public override void Execute(int start, int end, int worker)
        {
            long slice = bytes / parts / 256 * 256;
            for (int p = start; p < end; p++) Sink += Read(buffer + p * slice, slice);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static float Read(byte* p, long n)
        {
            var a0 = Vector512<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
            for (long i = 0; i < n; i += 256)
            {
                a0 += Vector512.Load((float*)(p + i));
                a1 += Vector512.Load((float*)(p + i + 64));
                a2 += Vector512.Load((float*)(p + i + 128));
                a3 += Vector512.Load((float*)(p + i + 192));
            }
            return Vector512.Sum(a0 + a1 + a2 + a3);
        }
    }

    private sealed class ComputeJob(delegate*<long, float> kernel) : ParallelJob
    {
        public long Calls;
        public float Sink;

        public override void Execute(int start, int end, int worker)
        {
            for (int i = start; i < end; i++) Sink += kernel(Calls);
        }
    }

    private static class FmaJob
    {
        public const double FlopsPerCall = 10 * 16 * 2; // ten independent 16-lane FMAs

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static float Run(long calls)
        {
            var m = Vector512.Create(0.999f); var c = Vector512.Create(1e-6f);
            var a0 = Vector512.Create(1f); var a1 = a0; var a2 = a0; var a3 = a0; var a4 = a0;
            var a5 = a0; var a6 = a0; var a7 = a0; var a8 = a0; var a9 = a0;
            for (long i = 0; i < calls; i++)
            {
                a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c);
                a2 = Vector512.FusedMultiplyAdd(a2, m, c); a3 = Vector512.FusedMultiplyAdd(a3, m, c);
                a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c);
                a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c);
                a8 = Vector512.FusedMultiplyAdd(a8, m, c); a9 = Vector512.FusedMultiplyAdd(a9, m, c);
            }
            return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9);
        }
    }

    private static class Int8Job
    {
        public const double OpsPerCall = 8 * 64 * 2; // eight chains of 64 u8×s8 products (multiply + add each)

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static float Run(long calls)
        {
            var u = Vector512.Create((byte)3); var s = Vector512.Create((sbyte)-2); var ones = Vector512.Create((short)1);
            var a0 = Vector512<int>.Zero; var a1 = a0; var a2 = a0; var a3 = a0; var a4 = a0; var a5 = a0; var a6 = a0; var a7 = a0;
            for (long i = 0; i < calls; i++)
            {
                a0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, s), ones);
                a1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, s), ones);
                a2 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, s), ones);
                a3 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, s), ones);
                a4 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, s), ones);
                a5 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, s), ones);
                a6 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, s), ones);
                a7 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, s), ones);
                u = (u.AsInt32() + Vector512<int>.One).AsByte(); // keep the JIT from hoisting the products out of the loop
            }
            return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
        }
    }
}
