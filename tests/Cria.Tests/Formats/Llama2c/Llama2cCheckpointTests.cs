using System.Diagnostics;
using Cria.Formats.Llama2c;
using Cria.Model;
using Cria.Tests.Infrastructure;
using Cria.Tests.Model;

namespace Cria.Tests.Formats.Llama2c;

/// <summary>The llama2.c layouts (legacy with a tied or an unshared classifier, export version 1) give the same model,
/// and malformed checkpoints fail with a clear error, quickly and without large allocations.</summary>
public class Llama2cCheckpointTests
{
    private static readonly byte[] Legacy = File.ReadAllBytes(TestAssets.Path("stories260K/stories260K.bin"));
    private const int Dim = 64, Hidden = 172, Layers = 5, KvDim = 32, Vocab = 512, SeqLen = 512, HeadSize = 8;

    // Offsets (in floats, after the 28-byte header) of each legacy section, as run.c maps them.
    private static (string Name, int Floats)[] LegacySections =>
    [
        ("embedding", Vocab * Dim), ("att_norm", Layers * Dim), ("wq", Layers * Dim * Dim), ("wk", Layers * Dim * KvDim),
        ("wv", Layers * Dim * KvDim), ("wo", Layers * Dim * Dim), ("ffn_norm", Layers * Dim), ("w1", Layers * Dim * Hidden),
        ("w2", Layers * Hidden * Dim), ("w3", Layers * Hidden * Dim), ("norm", Dim), ("freq_cis", SeqLen * HeadSize),
    ];

    private static ReadOnlySpan<byte> Section(string name)
    {
        int offset = 28;
        foreach (var (n, floats) in LegacySections)
        {
            if (n == name) return Legacy.AsSpan(offset, floats * 4);
            offset += floats * 4;
        }
        throw new ArgumentException(name);
    }

    private static string Write(byte[] bytes)
    {
        string path = Path.Combine(Path.GetTempPath(), $"cria-l2c-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static float[] LastLogits(string path)
    {
        using var model = LlamaModel.Load(path, TestAssets.Path("stories260K/tok512.bin"));
        using var context = new LlamaContext(model);
        return context.Process([1, 403, 407, 261, 378]).ToArray();
    }

    [Fact]
    public void A_negative_vocabulary_size_reads_the_unshared_classifier_after_the_weights()
    {
        // Same weights with the classifier written out: negative vocab size, embedding copied as wcls.
        var bytes = Legacy.Concat(Section("embedding").ToArray()).ToArray();
        BitConverter.TryWriteBytes(bytes.AsSpan(20), -Vocab);
        string path = Write(bytes);
        try
        {
            var checkpoint = Llama2cCheckpoint.Open(path);
            Assert.False(checkpoint.Config.TiedOutput);
            checkpoint.Dispose();
            Assert.Equal(LastLogits(TestAssets.Path("stories260K/stories260K.bin")), LastLogits(path));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Export_version_1_gives_the_same_model()
    {
        var header = new byte[256];
        BitConverter.TryWriteBytes(header.AsSpan(0), 0x616b3432u);
        BitConverter.TryWriteBytes(header.AsSpan(4), 1);
        Legacy.AsSpan(0, 28).CopyTo(header.AsSpan(8));
        header[36] = 1; // shared classifier
        var body = new MemoryStream();
        body.Write(header);
        foreach (string name in new[] { "att_norm", "ffn_norm", "norm", "embedding", "wq", "wk", "wv", "wo", "w1", "w2", "w3" })
            body.Write(Section(name));
        string path = Write(body.ToArray());
        try
        {
            using (var checkpoint = Llama2cCheckpoint.Open(path)) Assert.Equal(1, checkpoint.Version);
            Assert.Equal(LastLogits(TestAssets.Path("stories260K/stories260K.bin")), LastLogits(path));
        }
        finally { File.Delete(path); }
    }

    public static TheoryData<string, int, int> BadHeaders => new()
    {
        { "dim 0", 0, 0 },
        { "negative layers", 2, -5 },
        { "heads not dividing dim", 3, 7 },
        { "kv heads above heads", 4, 16 },
        { "absurd dim", 0, int.MaxValue },
        { "absurd vocab", 5, int.MinValue },
        { "absurd seq_len", 6, int.MaxValue },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public void Bad_header_fields_are_named(string what, int field, int value)
    {
        var bytes = (byte[])Legacy.Clone();
        BitConverter.TryWriteBytes(bytes.AsSpan(field * 4), value);
        string path = Write(bytes);
        try
        {
            var e = Assert.Throws<ModelFormatException>(() => Llama2cCheckpoint.Open(path).Dispose());
            Assert.Contains(path, e.Message);
            Assert.True(e.Message.Contains("header") || e.Message.Contains("bytes") || e.Message.Contains("count"), $"{what}: {e.Message}");
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Truncated_or_padded_checkpoints_fail_quickly_with_bounded_memory()
    {
        string path = Path.Combine(Path.GetTempPath(), $"cria-l2c-{Guid.NewGuid():N}.bin");
        try
        {
            var clock = Stopwatch.StartNew();
            foreach (int length in Enumerable.Range(0, 64).Concat(new[] { 256, 4096, 100_000, Legacy.Length - 4, Legacy.Length - 1, Legacy.Length + 4 }))
            {
                var bytes = length <= Legacy.Length ? Legacy.AsSpan(0, length).ToArray() : Legacy.Concat(new byte[length - Legacy.Length]).ToArray();
                File.WriteAllBytes(path, bytes);
                long before = GC.GetAllocatedBytesForCurrentThread();
                var e = Assert.ThrowsAny<CriaException>(() => Llama2cCheckpoint.Open(path).Dispose());
                Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, $"length {length}: allocated too much");
                Assert.Contains(path, e.Message);
            }
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10));
        }
        finally { File.Delete(path); }
    }
}
