using System.Buffers.Binary;
using System.Diagnostics;
using Cria.Formats.SafeTensors;
using Cria.Tests.Formats.Gguf.Support;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Formats.SafeTensors;

/// <summary>Thousands of damaged headers (bytes flipped, cut, duplicated, escapes and numbers swapped in) from a real
/// file: each is accepted with in-bounds, non-overlapping tensors, or refused with a ModelFormatException — never
/// another exception — quickly and with allocation bounded by the header's own size.</summary>
public class SafeTensorsFuzzTests
{
    private static readonly byte[] Original = File.ReadAllBytes(TestAssets.Path("stories260K-hf/sharded/model-00002-of-00002.safetensors"));
    private static readonly int HeaderLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(Original);
    private static readonly long DataLength = Original.Length - 8 - HeaderLength;

    private static void Check(byte[] header, long dataLength, string what, ref TimeSpan worstTime, ref long worstAllocation)
    {
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        long start = Stopwatch.GetTimestamp();
        try
        {
            var parsed = SafeTensorsHeader.Parse(header, dataLength, "fuzz");
            long position = 0;
            foreach (var t in parsed.Tensors) // accepted: the tensors tile the data exactly
            {
                Assert.True(t.Begin == position && t.End >= t.Begin, $"{what}: '{t.Name}' at [{t.Begin}, {t.End}]");
                position = t.End;
            }
            Assert.Equal(dataLength, position);
        }
        catch (ModelFormatException) { }
        catch (Exception e) { Assert.Fail($"{what}: {e.GetType().Name}: {e.Message}"); }
        var elapsed = Stopwatch.GetElapsedTime(start);
        worstTime = elapsed > worstTime ? elapsed : worstTime;
        worstAllocation = Math.Max(worstAllocation, GC.GetAllocatedBytesForCurrentThread() - allocatedBefore - 16L * header.Length);
    }

    [Fact]
    public void Damaged_headers_never_escape_as_other_exceptions()
    {
        var random = new Random(260);
        var header = Original.AsSpan(8, HeaderLength).ToArray();
        byte[][] inserts = ["\\ud800"u8.ToArray(), "\\u0000"u8.ToArray(), "-1"u8.ToArray(), "1e999"u8.ToArray(), "18446744073709551616"u8.ToArray(),
            "\""u8.ToArray(), "{"u8.ToArray(), "]"u8.ToArray(), ","u8.ToArray(), "null"u8.ToArray(), [0xFF], [0xC3], "\"F32\""u8.ToArray()];
        TimeSpan worstTime = default;
        long worstAllocation = 0;
        Check(header, DataLength, "original", ref worstTime, ref worstAllocation);
        for (int i = 0; i < 3000; i++)
        {
            var mutated = header.ToList();
            int edits = 1 + random.Next(3);
            for (int e = 0; e < edits; e++)
            {
                int at = random.Next(mutated.Count);
                switch (random.Next(4))
                {
                    case 0: mutated[at] = (byte)random.Next(256); break;
                    case 1: mutated.RemoveRange(at, Math.Min(random.Next(1, 40), mutated.Count - at)); break;
                    case 2: mutated.InsertRange(at, inserts[random.Next(inserts.Length)]); break;
                    default: mutated.InsertRange(at, mutated.Skip(random.Next(mutated.Count)).Take(random.Next(1, 80)).ToArray()); break;
                }
                if (mutated.Count == 0) break;
            }
            Check(mutated.ToArray(), DataLength + random.Next(-8, 9), $"mutation {i}", ref worstTime, ref worstAllocation);
        }
        Assert.True(worstTime < GgufAssert.MaxRejectTime, $"slowest parse {worstTime.TotalMilliseconds:F0} ms");
        Assert.True(worstAllocation < 1 << 20, $"a parse allocated {worstAllocation:N0} bytes beyond 16 per header byte");
    }

    [Fact]
    public void A_file_cut_anywhere_is_refused()
    {
        using var dir = new TempDir();
        foreach (int length in Enumerable.Range(0, 8 + HeaderLength + 24).Concat([Original.Length - 1]))
        {
            string path = dir.Write($"cut-{length}.safetensors", Original.AsSpan(0, length));
            var e = Assert.Throws<ModelFormatException>(() => SafeTensorsFile.Open(path));
            Assert.Contains(path, e.Message);
        }
    }

    [Fact]
    public void A_lone_surrogate_escape_in_a_name_is_a_format_error()
    {
        using var dir = new TempDir();
        string path = dir.Write("s.safetensors", SafeTensorsBytes.File("{\"a\\ud800\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4));
        Assert.Throws<ModelFormatException>(() => SafeTensorsFile.Open(path));
    }
}
