using System.Diagnostics;
using Cria.Formats.Gguf;

namespace Cria.Tests.Formats.Gguf.Support;

/// <summary>Parses many candidate headers in memory and keeps the worst time and allocation of any single parse,
/// so a test over thousands of cases can assert "every case fast and cheap" without a slow per-case assert.
/// Allocation is counted beyond 8 bytes per input byte: a real header of 32000 tokens legitimately costs a few MB,
/// but nothing a header merely claims may cost more than what its bytes hold.</summary>
internal sealed class ParseProbe
{
    public int Accepted { get; private set; }
    public int Rejected { get; private set; }
    public TimeSpan WorstTime { get; private set; }
    public long WorstAllocation { get; private set; }
    public string WorstTimeCase { get; private set; } = "";

    /// <summary>Parses <paramref name="bytes"/>; returns the header, or null with the rejection message. Anything other
    /// than a <see cref="ModelFormatException"/> fails the test, naming <paramref name="caseName"/>.</summary>
    public GgufHeader? Parse(ReadOnlySpan<byte> bytes, string caseName, out string? rejection)
    {
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        long start = Stopwatch.GetTimestamp();
        GgufHeader? header = null;
        rejection = null;
        try
        {
            header = GgufParser.Parse(bytes, "fuzz.gguf");
        }
        catch (ModelFormatException e)
        {
            rejection = e.Message;
        }
        catch (Exception e)
        {
            Assert.Fail($"{caseName}: {e.GetType().Name} instead of ModelFormatException: {e}");
        }
        var elapsed = Stopwatch.GetElapsedTime(start);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        if (elapsed > WorstTime) (WorstTime, WorstTimeCase) = (elapsed, caseName);
        WorstAllocation = Math.Max(WorstAllocation, allocated - 8L * bytes.Length);
        if (header is null) Rejected++;
        else
        {
            Accepted++;
            CheckInvariants(header, bytes.Length, caseName);
        }
        return header;
    }

    public override string ToString() =>
        $"{Accepted} accepted, {Rejected} rejected; slowest {WorstTime.TotalMilliseconds:F1} ms ({WorstTimeCase}); worst excess allocation {WorstAllocation:N0} bytes";

    public void AssertAllWereCheap(long maxAllocation)
    {
        Assert.True(WorstTime < GgufAssert.MaxRejectTime, $"slowest parse took {WorstTime.TotalMilliseconds:F0} ms ({WorstTimeCase})");
        Assert.True(WorstAllocation < maxAllocation, $"a parse allocated {WorstAllocation:N0} bytes more than 8 per input byte");
    }

    /// <summary>What an accepted header promises its users: aligned, in-bounds, disjoint tensors.</summary>
    private static void CheckInvariants(GgufHeader h, long length, string caseName)
    {
        Assert.True(h.DataOffset % h.Alignment == 0, caseName);
        foreach (var t in h.Tensors)
        {
            Assert.True(t.Offset % h.Alignment == 0 && t.ByteSize >= 0, caseName);
            Assert.True(t.Offset <= length - h.DataOffset - t.ByteSize, $"{caseName}: accepted '{t.Name}' past the end");
        }
    }
}
