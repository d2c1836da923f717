using Cria.Benchmarking;
using Cria.IO;

namespace Cria.Tests.Benchmarking;

public class MachineLimitsTests
{
    [Fact]
    public void Every_limit_is_measured_for_every_thread_count_in_both_page_sizes()
    {
        var figures = MachineLimits.Measure([1, 2], bufferBytes: 64L << 20);
        var expected = new List<string> { "memory read" };
        if (HugePages.Enabled) expected.Add("memory read (2M pages)");
        expected.Add("fp32 FMA");
        if (System.Runtime.Intrinsics.X86.Avx512BW.IsSupported) expected.Add("int8 multiply-add");
        Assert.Equal(expected.SelectMany(w => new[] { (w, 1), (w, 2) }), figures.Select(f => (f.What, f.Threads)));
        // A rate of zero or infinity would mean a timing or byte count gone wrong; no machine reads 10 TB/s.
        Assert.All(figures, f => Assert.InRange(f.Value, 0.1, 10_000));
    }
}
