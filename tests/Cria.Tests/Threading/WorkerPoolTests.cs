using Cria.Threading;

namespace Cria.Tests.Threading;

public class WorkerPoolTests
{
    private sealed class CountingJob(int[] hits) : ParallelJob
    {
        public override void Execute(int start, int end, int worker)
        {
            for (int i = start; i < end; i++) Interlocked.Increment(ref hits[i]);
        }
    }

    private sealed class FailingJob : ParallelJob
    {
        public override void Execute(int start, int end, int worker)
        {
            if (start <= 50 && 50 < end) throw new InvalidOperationException("item 50 failed");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void Every_item_runs_exactly_once_across_many_runs(int threads)
    {
        using var pool = new WorkerPool(threads);
        foreach (int count in new[] { 1, 2, 3, 7, 64, 1000 })
        {
            for (int run = 0; run < 200; run++)
            {
                var hits = new int[count];
                pool.Run(new CountingJob(hits), count);
                Assert.All(hits, h => Assert.Equal(1, h));
            }
        }
    }

    [Fact]
    public void A_failure_in_a_worker_reaches_the_caller_and_the_pool_stays_usable()
    {
        using var pool = new WorkerPool(2);
        var e = Assert.Throws<InvalidOperationException>(() => pool.Run(new FailingJob(), 100));
        Assert.Equal("item 50 failed", e.Message);
        var hits = new int[100];
        pool.Run(new CountingJob(hits), 100);
        Assert.All(hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void Workers_wake_up_after_sleeping()
    {
        using var pool = new WorkerPool(2);
        Thread.Sleep(50); // longer than the spin phase: the worker is asleep
        var hits = new int[64];
        pool.Run(new CountingJob(hits), 64);
        Assert.All(hits, h => Assert.Equal(1, h));
    }
}
