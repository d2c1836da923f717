using Cria.Formats.Gguf;
using Cria.Tests.Formats.Gguf.Support;
using Cria.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Cria.Tests.Formats.Gguf;

/// <summary>Deterministic random mutations of real headers: whatever the bytes, the reader either accepts a consistent
/// header or throws <see cref="ModelFormatException"/>; never another exception, never a hang, never a huge allocation.</summary>
public class GgufFuzzTests(ITestOutputHelper output)
{
    private static readonly ulong[] InterestingValues =
    [
        0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 31, 32, 33, 63, 64, 255, 256, 0x7FFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        1UL << 32, 1UL << 40, 1UL << 62, 1UL << 63, ulong.MaxValue, ulong.MaxValue - 31,
    ];

    /// <summary>In-place mutations of stories260K-f32 (restored after each case): bit flips, random bytes and
    /// interesting 32/64-bit values, aimed mostly at the header and, a third of the time, at the tensor directory.</summary>
    [Fact]
    public void Stories260K_HeaderMutations()
    {
        byte[] bytes = File.ReadAllBytes(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"));
        int dataOffset = (int)GgufParser.Parse(bytes, "original").DataOffset;
        int directory = bytes.AsSpan().IndexOf("token_embd.weight"u8) - 8; // first tensor entry, after the metadata
        Assert.True(directory > 0 && directory < dataOffset);

        var rng = new Random(20240601);
        var probe = new ParseProbe();
        var saved = new List<(int At, byte Was)>();
        RunWithinTimeLimit(() =>
        {
            for (int i = 0; i < 4000; i++)
            {
                int regionStart = rng.Next(3) == 0 ? directory : 0;
                int regionEnd = rng.Next(10) == 0 ? bytes.Length : dataOffset;
                int mutations = 1 + rng.Next(4);
                for (int m = 0; m < mutations; m++) Mutate(bytes, rng, regionStart, regionEnd, saved);
                int length = rng.Next(10) == 0 ? rng.Next(bytes.Length) : bytes.Length;
                probe.Parse(bytes.AsSpan(0, length), $"case {i}", out _);
                for (int s = saved.Count - 1; s >= 0; s--) bytes[saved[s].At] = saved[s].Was;
                saved.Clear();
            }
        });
        Assert.True(probe.Accepted > 0 && probe.Rejected > 1000, $"accepted {probe.Accepted}, rejected {probe.Rejected}");
        output.WriteLine(probe.ToString());
        probe.AssertAllWereCheap(GgufAssert.MaxRejectAllocation);
    }

    /// <summary>Mutations of a small writer-built file that has every value kind and nested arrays, including ones
    /// that shift the framing (inserted, deleted and duplicated bytes); every tenth goes through a real file.</summary>
    [Fact]
    public void EveryValueKind_StructuralMutations()
    {
        using var dir = new TempDir();
        string basePath = dir.File("base.gguf");
        using (var w = new GgufWriter(basePath))
        {
            w.AddMetadata(GgufWriterRoundTripTests.EveryKindOfMetadata().Where(e => e.Key != "string.long"));
            foreach (var (name, dims, type) in GgufWriterRoundTripTests.ManyTensors()) w.AddTensor(name, dims, type);
            foreach (var t in w.Tensors) w.WriteTensor(t.Name, new byte[t.ByteSize]);
            w.Complete();
        }
        byte[] original = File.ReadAllBytes(basePath);
        int dataOffset = (int)GgufParser.Parse(original, "original").DataOffset;

        var rng = new Random(42);
        var probe = new ParseProbe();
        RunWithinTimeLimit(() =>
        {
            for (int i = 0; i < 3000; i++)
            {
                var bytes = new List<byte>(original);
                int mutations = 1 + rng.Next(3);
                for (int m = 0; m < mutations; m++) MutateStructure(bytes, rng, dataOffset);
                byte[] candidate = bytes.ToArray();
                probe.Parse(candidate, $"case {i}", out string? rejection);
                if (i % 10 != 0) continue;
                string path = dir.Write($"case{i}.gguf", candidate);
                try
                {
                    using var f = GgufFile.Open(path);
                    Assert.True(rejection is null, $"case {i}: the file was accepted but the buffer was rejected: {rejection}");
                }
                catch (ModelFormatException e)
                {
                    Assert.True(rejection is not null, $"case {i}: the buffer was accepted but the file was rejected: {e.Message}");
                }
                File.Delete(path);
            }
        });
        Assert.True(probe.Accepted > 0 && probe.Rejected > 1000, $"accepted {probe.Accepted}, rejected {probe.Rejected}");
        output.WriteLine(probe.ToString());
        probe.AssertAllWereCheap(GgufAssert.MaxRejectAllocation);
    }

    private static void Mutate(byte[] bytes, Random rng, int start, int end, List<(int, byte)> saved)
    {
        int at = rng.Next(start, end);
        void Set(int i, byte b)
        {
            if (i >= bytes.Length) return;
            saved.Add((i, bytes[i]));
            bytes[i] = b;
        }
        switch (rng.Next(4))
        {
            case 0: Set(at, (byte)(bytes[at] ^ (1 << rng.Next(8)))); break;
            case 1: Set(at, (byte)rng.Next(256)); break;
            case 2:
                uint v32 = (uint)InterestingValues[rng.Next(InterestingValues.Length)];
                for (int b = 0; b < 4; b++) Set(at + b, (byte)(v32 >> (8 * b)));
                break;
            default:
                ulong v64 = InterestingValues[rng.Next(InterestingValues.Length)];
                for (int b = 0; b < 8; b++) Set(at + b, (byte)(v64 >> (8 * b)));
                break;
        }
    }

    private static void MutateStructure(List<byte> bytes, Random rng, int dataOffset)
    {
        int at = rng.Next(Math.Min(dataOffset, bytes.Count));
        int span = 1 + rng.Next(16);
        switch (rng.Next(6))
        {
            case 0: bytes.InsertRange(at, Enumerable.Range(0, span).Select(_ => (byte)rng.Next(256))); break;
            case 1: bytes.RemoveRange(at, Math.Min(span, bytes.Count - at)); break;
            case 2: bytes.InsertRange(at, bytes.GetRange(at, Math.Min(span, bytes.Count - at))); break;
            case 3: bytes.RemoveRange(at, bytes.Count - at); break; // truncate
            default:
                byte[] array = bytes.ToArray();
                Mutate(array, rng, at, at + 1, []);
                bytes.Clear();
                bytes.AddRange(array);
                break;
        }
    }

    // A hang would otherwise stall the whole test run; this fails the test instead.
    private static void RunWithinTimeLimit(Action fuzz)
    {
        var task = Task.Factory.StartNew(fuzz, TaskCreationOptions.LongRunning);
        Assert.True(task.Wait(TimeSpan.FromMinutes(2)), "the fuzz loop did not finish in 2 minutes: a parse hangs");
        task.GetAwaiter().GetResult();
    }
}
