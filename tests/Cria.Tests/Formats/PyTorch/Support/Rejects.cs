using System.Diagnostics;

namespace Cria.Tests.Formats.PyTorch.Support;

/// <summary>"Fails cleanly and cheaply": the expected exception type, a message naming the problem, within a generous
/// time, and allocating (on this thread) less than a bound that a hostile size could not stay under.</summary>
internal static class Rejects
{
    /// <summary>Generous, so a busy machine does not fail the test; a hang or an unbounded loop still would.</summary>
    public static readonly TimeSpan MaxTime = TimeSpan.FromSeconds(10);
    public const long DefaultMaxAllocation = 4 << 20;

    public static T Cheaply<T>(Action action, params string[] fragments) where T : Exception =>
        Cheaply<T>(action, DefaultMaxAllocation, fragments);

    public static T Cheaply<T>(Action action, long maxAllocation, params string[] fragments) where T : Exception
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        Exception? caught = null;
        try { action(); }
        catch (Exception e) { caught = e; }
        clock.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(caught is not null, $"expected {typeof(T).Name} saying '{string.Join("', '", fragments)}', but nothing was thrown");
        Assert.True(caught is T, $"expected {typeof(T).Name}, got {caught.GetType().Name}: {caught}");
        foreach (string fragment in fragments)
            Assert.True(caught.Message.Contains(fragment, StringComparison.OrdinalIgnoreCase), $"message '{caught.Message}' does not contain '{fragment}'");
        Assert.DoesNotContain('\n', caught.Message);
        Assert.True(clock.Elapsed < MaxTime, $"took {clock.Elapsed.TotalMilliseconds:F0} ms to reject: {caught.Message}");
        Assert.True(allocated < maxAllocation, $"allocated {allocated:N0} bytes to reject: {caught.Message}");
        return (T)caught;
    }
}
