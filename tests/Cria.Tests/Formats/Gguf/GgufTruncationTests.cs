using Cria.Formats.Gguf;
using Cria.Tests.Formats.Gguf.Support;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Formats.Gguf;

/// <summary>Real files cut short: at every offset of the header region and at a sample of offsets in the data.
/// Each must be rejected with a message about truncation, quickly and cheaply.</summary>
public class GgufTruncationTests
{
    private static readonly string[] TruncationWords = ["truncated", "empty", "not a GGUF file", "runs past the end", "remaining bytes can hold"];

    private static void AssertTruncationMessage(string? message, int length)
    {
        Assert.True(message is not null, $"a file cut at {length} bytes was accepted");
        Assert.True(TruncationWords.Any(w => message.Contains(w, StringComparison.OrdinalIgnoreCase)), $"cut at {length}: {message}");
    }

    [Fact]
    public void Stories260K_EveryHeaderOffset()
    {
        byte[] bytes = File.ReadAllBytes(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"));
        long dataOffset = GgufParser.Parse(bytes, "full").DataOffset;
        var probe = new ParseProbe();
        for (int n = 0; n <= dataOffset; n++)
        {
            probe.Parse(bytes.AsSpan(0, n), $"cut at {n}", out string? message);
            AssertTruncationMessage(message, n);
        }
        Assert.Equal(dataOffset + 1, probe.Rejected);
        probe.AssertAllWereCheap(GgufAssert.MaxRejectAllocation);
    }

    [Theory]
    [InlineData("stories260K-gguf/stories260K-f32.gguf")]
    [InlineData("stories260K-gguf/stories260K-Q4_K_M-fallback.gguf")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q4_K_M.gguf")]
    [InlineData("llama2-tiny-random-gguf/llama-2-tiny-random.gguf")]
    public void SampledHeaderAndDataOffsets(string asset)
    {
        byte[] bytes = File.ReadAllBytes(TestAssets.Path(asset));
        var full = GgufParser.Parse(bytes, "full");
        // Cutting only the zero padding after the last tensor is harmless, so cut before the end of the data.
        int dataEnd = (int)(full.DataOffset + full.Tensors.Max(t => t.Offset + t.ByteSize));
        var rng = new Random(1234);
        var cuts = Enumerable.Range(0, 400).Select(_ => rng.Next((int)full.DataOffset))         // header region
            .Concat(Enumerable.Range(0, 200).Select(_ => rng.Next((int)full.DataOffset, dataEnd))) // data region
            .Append(dataEnd - 1);
        var probe = new ParseProbe();
        foreach (int n in cuts)
        {
            probe.Parse(bytes.AsSpan(0, n), $"cut at {n}", out string? message);
            AssertTruncationMessage(message, n);
        }
        probe.AssertAllWereCheap(GgufAssert.MaxRejectAllocation);
    }

    [Fact]
    public void CutFilesOnDisk()
    {
        // The same through GgufFile.Open (memory-mapped files of every cut length), for a sample of cuts.
        byte[] bytes = File.ReadAllBytes(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"));
        using var dir = new TempDir();
        var cuts = Enumerable.Range(0, 14200).Where(n => n % 97 == 0 || n < 40)
            .Concat([16_384, 100_000, 500_000, 1_000_000, bytes.Length - 1]);
        foreach (int n in cuts)
        {
            string path = dir.Write($"cut{n}.gguf", bytes.AsSpan(0, n));
            var e = GgufAssert.RejectsCheaply<ModelFormatException>(() => GgufFile.Open(path).Dispose());
            AssertTruncationMessage(e.Message, n);
            File.Delete(path);
        }
    }

    [Fact]
    public void WriterBuiltFileWithEveryValueKind_EveryOffset()
    {
        using var dir = new TempDir();
        string path = dir.File("all.gguf");
        using (var w = new GgufWriter(path))
        {
            w.AddMetadata(GgufWriterRoundTripTests.EveryKindOfMetadata().Where(e => e.Key != "string.long"));
            foreach (var (name, dims, type) in GgufWriterRoundTripTests.ManyTensors()) w.AddTensor(name, dims, type);
            foreach (var t in w.Tensors) w.WriteTensor(t.Name, new byte[t.ByteSize]);
            w.Complete();
        }
        byte[] bytes = File.ReadAllBytes(path);
        var probe = new ParseProbe();
        for (int n = 0; n < bytes.Length; n++)
        {
            probe.Parse(bytes.AsSpan(0, n), $"cut at {n}", out string? message);
            AssertTruncationMessage(message, n);
        }
        Assert.NotNull(probe.Parse(bytes, "whole", out _));
        probe.AssertAllWereCheap(GgufAssert.MaxRejectAllocation);
    }
}
