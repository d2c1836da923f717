using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Cria.Threading;

/// <summary>A small pool of long-lived worker threads for data-parallel kernels. The caller takes part in the
/// work; idle workers spin briefly (a token's ops come microseconds apart) and then sleep, so dispatch costs
/// about a microsecond while busy and no CPU while idle.</summary>
public sealed class WorkerPool : IDisposable
{
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000; // spin up to 200 µs before sleeping

    private readonly Thread[] _workers;
    private readonly object _gate = new();
    private ParallelJob? _job;
    private int _itemCount;
    private int _chunkSize;
    private int _nextChunk;
    private int _chunkCount;
    private int _pendingWorkers;
    private long _generation;
    private int _sleepers;
    private volatile bool _disposed;
    private Exception? _failure;

    /// <summary>Total threads taking part in a run, the caller included.</summary>
    public int ThreadCount { get; }

    public WorkerPool(int threadCount)
    {
        if (threadCount < 1) throw new ArgumentOutOfRangeException(nameof(threadCount), "at least one thread is needed");
        ThreadCount = threadCount;
        _workers = new Thread[threadCount - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            int index = i + 1;
            _workers[i] = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"cria-worker-{index}" };
            _workers[i].Start();
        }
    }

    /// <summary>Runs <paramref name="job"/> over items [0, <paramref name="count"/>) on all threads and returns when
    /// every item is done. Items are handed out in chunks of at least <paramref name="minChunk"/>; with
    /// <paramref name="alignChunks"/> every chunk but the last is a multiple of it (whole GEMM panels).</summary>
    public void Run(ParallelJob job, int count, int minChunk = 1, bool alignChunks = false)
    {
        if (count <= 0) return;
        ObjectDisposedException.ThrowIf(_disposed, this);
        int maxChunks = Math.Max(1, count / Math.Max(1, minChunk));
        if (ThreadCount == 1 || maxChunks == 1)
        {
            job.Execute(0, count, 0);
            return;
        }
        // A few chunks per thread balance noise from other processes without much bookkeeping.
        int chunks = Math.Min(maxChunks, ThreadCount * 4);
        _chunkSize = (count + chunks - 1) / chunks;
        if (alignChunks && minChunk > 1) _chunkSize = (_chunkSize + minChunk - 1) / minChunk * minChunk;
        _chunkCount = (count + _chunkSize - 1) / _chunkSize;
        _itemCount = count;
        _nextChunk = 0;
        _failure = null;
        _job = job;
        _pendingWorkers = _workers.Length;
        Interlocked.Increment(ref _generation);
        if (Volatile.Read(ref _sleepers) > 0)
            lock (_gate) Monitor.PulseAll(_gate);

        DoChunks(job, 0);
        var spin = new SpinWait();
        while (Volatile.Read(ref _pendingWorkers) > 0) spin.SpinOnce(sleep1Threshold: -1);
        _job = null;
        if (_failure != null) ExceptionDispatchInfo.Throw(_failure);
    }

    private void DoChunks(ParallelJob job, int worker)
    {
        try
        {
            int chunk;
            while ((chunk = Interlocked.Increment(ref _nextChunk) - 1) < _chunkCount)
            {
                int start = chunk * _chunkSize;
                job.Execute(start, Math.Min(_itemCount, start + _chunkSize), worker);
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, e, null);
            Volatile.Write(ref _nextChunk, _chunkCount); // stop handing out work
        }
    }

    private void WorkerLoop(int index)
    {
        long seen = 0;
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            var spin = new SpinWait();
            while (Volatile.Read(ref _generation) == seen && !_disposed)
            {
                if (Stopwatch.GetTimestamp() - start < SpinTicks) { spin.SpinOnce(sleep1Threshold: -1); continue; }
                lock (_gate)
                {
                    Interlocked.Increment(ref _sleepers);
                    while (Volatile.Read(ref _generation) == seen && !_disposed) Monitor.Wait(_gate);
                    Interlocked.Decrement(ref _sleepers);
                }
            }
            if (_disposed) return;
            seen = Volatile.Read(ref _generation);
            var job = _job;
            if (job != null) DoChunks(job, index);
            Interlocked.Decrement(ref _pendingWorkers);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        lock (_gate) Monitor.PulseAll(_gate);
        foreach (var t in _workers) t.Join();
    }
}
