using System.Diagnostics;
using Cria.Formats.Gguf;

namespace Cria.Tests.Formats.Gguf.Support;

/// <summary>Assertions for GGUF tests: deep value equality, same metadata/tensors, and "fails cleanly and cheaply".</summary>
internal static class GgufAssert
{
    /// <summary>Hostile input must be rejected within this time…</summary>
    public static readonly TimeSpan MaxRejectTime = TimeSpan.FromSeconds(1);
    /// <summary>…and allocating less than this (a real header parse allocates well under 1 MB).</summary>
    public const long MaxRejectAllocation = 4 << 20;

    /// <summary>Values are equal in type and content; floats compare bit for bit (NaN, -0 survive a round trip).</summary>
    public static void SameValue(GgufValue expected, GgufValue actual, string where)
    {
        Assert.True(expected.Type == actual.Type, $"{where}: type {actual.Type}, expected {expected.Type}");
        SameItem(expected.Value, actual.Value, where);
    }

    private static void SameItem(object expected, object actual, string where)
    {
        switch (expected)
        {
            case GgufArray ea:
                var aa = Assert.IsType<GgufArray>(actual);
                Assert.True(ea.ElementType == aa.ElementType, $"{where}: element type {aa.ElementType}, expected {ea.ElementType}");
                Assert.True(ea.Items.GetType() == aa.Items.GetType(), $"{where}: items {aa.Items.GetType()}, expected {ea.Items.GetType()}");
                Assert.True(ea.Length == aa.Length, $"{where}: {aa.Length} items, expected {ea.Length}");
                for (int i = 0; i < ea.Length; i++) SameItem(ea.Items.GetValue(i)!, aa.Items.GetValue(i)!, $"{where}[{i}]");
                break;
            case float f:
                Assert.True(BitConverter.SingleToInt32Bits(f) == BitConverter.SingleToInt32Bits(Assert.IsType<float>(actual)), $"{where}: {actual} != {f}");
                break;
            case double d:
                Assert.True(BitConverter.DoubleToInt64Bits(d) == BitConverter.DoubleToInt64Bits(Assert.IsType<double>(actual)), $"{where}: {actual} != {d}");
                break;
            default:
                Assert.True(expected.GetType() == actual.GetType(), $"{where}: {actual.GetType()}, expected {expected.GetType()}");
                Assert.True(Equals(expected, actual), $"{where}: {actual}, expected {expected}");
                break;
        }
    }

    /// <summary>Same keys in the same order with the same values.</summary>
    public static void SameMetadata(IReadOnlyList<KeyValuePair<string, GgufValue>> expected, GgufMetadata actual)
    {
        Assert.Equal(expected.Select(e => e.Key), actual.Entries.Select(e => e.Key));
        for (int i = 0; i < expected.Count; i++) SameValue(expected[i].Value, actual.Entries[i].Value, expected[i].Key);
    }

    /// <summary>Same names, dimensions, types, offsets and sizes, in order.</summary>
    public static void SameTensors(IReadOnlyList<GgufTensorInfo> expected, IReadOnlyList<GgufTensorInfo> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            var (e, a) = (expected[i], actual[i]);
            Assert.Equal(e.Name, a.Name);
            Assert.Equal(e.Dimensions, a.Dimensions);
            Assert.Equal(e.Type, a.Type);
            Assert.Equal(e.Offset, a.Offset);
            Assert.Equal(e.ByteSize, a.ByteSize);
        }
    }

    /// <summary>Runs <paramref name="action"/> and checks that it throws <typeparamref name="T"/> whose message contains every
    /// fragment (case-insensitive), quickly and without large allocations. Returns the exception.</summary>
    public static T RejectsCheaply<T>(Action action, params string[] fragments) where T : Exception
    {
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        Exception? caught = null;
        try { action(); }
        catch (Exception e) { caught = e; }
        clock.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        Assert.True(caught is not null, $"expected {typeof(T).Name} containing '{string.Join("', '", fragments)}', but nothing was thrown");
        var typed = Assert.IsType<T>(caught);
        foreach (string fragment in fragments)
            Assert.True(caught.Message.Contains(fragment, StringComparison.OrdinalIgnoreCase), $"message '{caught.Message}' does not contain '{fragment}'");
        Assert.True(clock.Elapsed < MaxRejectTime, $"took {clock.Elapsed.TotalMilliseconds:F0} ms to reject: {caught.Message}");
        Assert.True(allocated < MaxRejectAllocation, $"allocated {allocated:N0} bytes to reject: {caught.Message}");
        return typed;
    }
}
