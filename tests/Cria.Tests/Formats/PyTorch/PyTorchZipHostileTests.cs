using System.IO.Compression;
using Cria.Formats.PyTorch;
using Cria.Tests.Formats.Gguf.Support;
using Cria.Tests.Formats.PyTorch.Support;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Formats.PyTorch;

/// <summary>Malformed and hostile torch.save zips, built byte by byte: zip bombs (huge declared sizes, inflation past
/// the declared size, overlapping entries, absurd entry counts), nested archives, truncation, lies in the directory.
/// Each fails with a <see cref="ModelFormatException"/> naming the file and the problem, quickly, in bounded memory.</summary>
public class PyTorchZipHostileTests
{
    private static readonly TorchCheckpoint.Tensor[] Tensors =
    [
        new("a", "FloatStorage", [2, 3], new byte[24]),
        new("b", "HalfStorage", [8], new byte[16]),
    ];

    private static ZipBuilder Valid() => TorchCheckpoint.Zip("ckpt", TorchCheckpoint.Pickle(Tensors), Tensors);

    private static ZipBuilder With(Action<ZipBuilder> change)
    {
        var zip = Valid();
        change(zip);
        return zip;
    }

    private static ZipBuilder.Entry Entry(ZipBuilder zip, string suffix) => zip.Entries.Single(e => e.Name.EndsWith(suffix, StringComparison.Ordinal));

    [Fact]
    public void The_valid_base_reads_in_both_zip_forms()
    {
        using var dir = new TempDir();
        foreach (bool zip64 in new[] { false, true })
        {
            var zip = Valid();
            zip.Zip64 = zip64;
            using var file = PyTorchFile.Open(dir.Write($"valid{zip64}.pth", zip.ToArray()));
            Assert.Equal(["a", "b"], file.Tensors.Select(t => t.Name));
            // Python's zipfile reads what this builder writes: the builder makes real zips.
            using var archive = ZipFile.OpenRead(file.Path);
            Assert.Equal(4, archive.Entries.Count);
        }
    }

    public static TheoryData<string, Func<byte[]>, string[]> Cases() => new()
    {
        { "empty file", () => [], ["not a torch.save checkpoint"] },
        { "not a zip", () => "hello, world, this is not a zip file at all"u8.ToArray(), ["not a torch.save checkpoint"] },
        { "legacy torch.save", () => [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8], ["legacy", "before 1.6"] },
        { "zip header only", () => Valid().ToArray()[..40], ["no end-of-central-directory record", "truncated"] },
        { "undeclared trailing bytes", () => With(z => z.Trailer = new byte[100]).ToArray(), ["no end-of-central-directory record"] },
        { "ten million entries", () => With(z => { z.Zip64 = true; z.DeclaredCount = 10_000_000; }).ToArray(), ["10,000,000 entries", "more than"] },
        { "2^62 entries", () => With(z => { z.Zip64 = true; z.DeclaredCount = 1L << 62; }).ToArray(), ["entries", "more than"] },
        { "more entries than the directory holds", () => With(z => z.DeclaredCount = 60_000).ToArray(), ["too small for 60000 entries"] },
        { "fewer entries than the directory holds", () => With(z => z.DeclaredCount = 2).ToArray(), ["bytes after its 2 entries"] },
        { "data.pkl declares 4 GiB", () => With(z => { z.Zip64 = true; Entry(z, "data.pkl").DeclaredSize = 1L << 32; }).ToArray(),
            ["data.pkl", "declares 4,294,967,296 bytes", "zip bomb"] },
        { "data.pkl declares 2^63-1", () => With(z => { z.Zip64 = true; Entry(z, "data.pkl").DeclaredSize = long.MaxValue; }).ToArray(),
            ["data.pkl", "declares 9,223,372,036,854,775,807 bytes"] },
        { "deflate bomb", () => DeflateBomb(), ["data.pkl", "inflates to more than the 300 bytes it declares"] },
        { "deflate stream shorter than declared", () => ShortDeflate(), ["data.pkl", "inflates to", "declares"] },
        { "data.pkl of a foreign method", () => With(z => Entry(z, "data.pkl").DeclaredMethod = 12).ToArray(), ["method"] },
        { "data.pkl CRC wrong", () => With(z => Entry(z, "data.pkl").DeclaredCrc = 0x12345678).ToArray(), ["data.pkl", "corrupt", "CRC-32"] },
        { "compressed storage", () => Compressed(), ["'ckpt/data/0'", "is compressed"] },
        { "storage reaching into the next entry", () => With(z => { var e = Entry(z, "data/1"); e.DeclaredSize = e.DeclaredCompressedSize = 40; }).ToArray(),
            ["entries 'ckpt/data/1' and 'ckpt/version' overlap"] },
        { "storage past the directory", () => With(z => { var e = Entry(z, "/version"); e.DeclaredSize = e.DeclaredCompressedSize = 1 << 20; }).ToArray(),
            ["runs into the central directory"] },
        { "storage of 2^63 bytes", () => With(z => { z.Zip64 = true; var e = Entry(z, "data/1"); e.DeclaredSize = e.DeclaredCompressedSize = long.MaxValue; }).ToArray(),
            ["runs into the central directory"] },
        { "overlapping entries", () => With(z => Entry(z, "data/1").DeclaredOffset = 0).ToArray(), ["local header names a different entry"] },
        { "local header outside the file", () => With(z => Entry(z, "data/0").DeclaredOffset = 1L << 30).ToArray(), ["local header of 'ckpt/data/0'", "outside the file"] },
        { "local header offset 2^62", () => With(z => { z.Zip64 = true; Entry(z, "data/0").DeclaredOffset = 1L << 62; }).ToArray(), ["outside the file"] },
        { "local header is not one", () => With(z => Entry(z, "data/0").DeclaredOffset = 10).ToArray(), ["no local header"] },
        { "duplicate entry", () => With(z => z.Add("ckpt/data/0", new byte[24])).ToArray(), ["'ckpt/data/0' appears twice"] },
        { "two top folders", () => With(z => z.Add("other/data/9", new byte[4])).ToArray(), ["several top folders"] },
        { "entry outside a folder", () => With(z => z.Add("loose", new byte[4])).ToArray(), ["'loose' is not inside a folder"] },
        { "no data.pkl", () => { var z = new ZipBuilder(); z.Add("ckpt/data/0", new byte[4]); return z.ToArray(); }, ["no 'ckpt/data.pkl'"] },
        { "missing storage record", () => { var z = Valid(); z.Entries.RemoveAll(e => e.Name.EndsWith("data/1")); return z.ToArray(); },
            ["tensor 'b' uses storage '1'", "no record 'ckpt/data/1'"] },
        { "storage record of the wrong size", () => StorageOfSize(20), ["'ckpt/data/0' holds 20 bytes", "6 float32 elements (24 bytes)"] },
        { "tensor past its storage", () => Build([new("a", "FloatStorage", [2, 3], new byte[24], Offset: 1)]), ["tensor 'a'", "reaches past the end of storage '0'"] },
        { "tensor with overflowing shape", () => Build([new("a", "FloatStorage", [1L << 40, 1L << 40], new byte[24])]), ["tensor 'a'", "overflows"] },
        { "big-endian storages", () => With(z => z.Add("ckpt/byteorder", "big"u8.ToArray())).ToArray(), ["'big'-endian"] },
        { "nested zip as data.pkl", () => Nested(), ["data.pkl is itself a zip archive"] },
        { "root is a list", () => BuildPickle(new PickleBuilder().Proto(2).EmptyList().Stop().ToArray()), ["data.pkl holds a list of 0, not a dict of tensors"] },
        { "os.system in data.pkl", () => BuildPickle(new PickleBuilder().Proto(2).Global("os", "system").Unicode("id").Op(0x85).Reduce().Stop().ToArray()),
            ["data.pkl", "'os.system'", "never runs code"] },
    };

    private static byte[] Build(TorchCheckpoint.Tensor[] tensors) => TorchCheckpoint.Build("ckpt", tensors);

    private static byte[] BuildPickle(byte[] pickle)
    {
        var z = new ZipBuilder();
        z.Add("ckpt/data.pkl", pickle);
        return z.ToArray();
    }

    private static byte[] StorageOfSize(int bytes)
    {
        var z = new ZipBuilder();
        z.Add("ckpt/data.pkl", TorchCheckpoint.Pickle(Tensors[..1]));
        z.Add("ckpt/data/0", new byte[bytes]);
        return z.ToArray();
    }

    // 10 MB of a valid-looking pickle prefix deflates to a few KB; it declares 300 bytes and must be cut off there.
    private static byte[] DeflateBomb()
    {
        var z = new ZipBuilder();
        z.Entries.Add(new ZipBuilder.Entry { Name = "ckpt/data.pkl", Data = new byte[10 << 20], Deflate = true, DeclaredSize = 300 });
        return z.ToArray();
    }

    private static byte[] ShortDeflate()
    {
        var z = new ZipBuilder();
        z.Entries.Add(new ZipBuilder.Entry { Name = "ckpt/data.pkl", Data = TorchCheckpoint.Pickle(Tensors), Deflate = true, DeclaredSize = 100_000 });
        return z.ToArray();
    }

    private static byte[] Compressed()
    {
        var z = new ZipBuilder();
        z.Add("ckpt/data.pkl", TorchCheckpoint.Pickle(Tensors));
        z.Add("ckpt/data/0", new byte[24], deflate: true);
        z.Add("ckpt/data/1", new byte[16]);
        return z.ToArray();
    }

    private static byte[] Nested()
    {
        var z = new ZipBuilder();
        z.Add("ckpt/data.pkl", Valid().ToArray());
        return z.ToArray();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Hostile_zips_fail_clearly_and_cheaply(string name, Func<byte[]> build, string[] says)
    {
        using var dir = new TempDir();
        string path = dir.Write(name.Replace(' ', '-') + ".pth", build());
        var e = Rejects.Cheaply<ModelFormatException>(() => PyTorchFile.Open(path).Dispose(), says);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Every_truncation_fails_clearly()
    {
        using var dir = new TempDir();
        var small = Valid().ToArray();
        var real = File.ReadAllBytes(TestAssets.Path("stories260K-meta-2shard/consolidated.00.pth"));
        // Every cut of a small checkpoint; cuts of a real one every 4999 bytes and through its last 256 bytes.
        var cuts = Enumerable.Range(0, small.Length).Select(n => (small, n))
            .Concat(Enumerable.Range(0, real.Length / 4999).Select(i => (real, i * 4999)))
            .Concat(Enumerable.Range(real.Length - 256, 256).Select(n => (real, n)));
        foreach (var (bytes, length) in cuts)
        {
            string path = dir.Write("cut.pth", bytes.AsSpan(0, length));
            var e = Record.Exception(() => PyTorchFile.Open(path).Dispose());
            Assert.True(e is ModelFormatException, $"cut at {length}: {e?.GetType().Name ?? "no exception"} {e?.Message}");
            Assert.Contains(path, e!.Message);
        }
    }

    [Fact]
    public void Corrupted_checkpoints_open_or_fail_with_a_format_error()
    {
        using var dir = new TempDir();
        var valid = Valid().ToArray();
        var random = new Random(99);
        int failures = 0;
        for (int round = 0; round < 1500; round++)
        {
            var corrupt = (byte[])valid.Clone();
            for (int flips = random.Next(1, 4); flips > 0; flips--) corrupt[random.Next(corrupt.Length)] = (byte)random.Next(256);
            string path = dir.Write("corrupt.pth", corrupt);
            var e = Record.Exception(() => PyTorchFile.Open(path).Dispose());
            if (e == null) continue;
            failures++;
            Assert.True(e is ModelFormatException, $"round {round}: {e.GetType().Name}: {e}");
            Assert.DoesNotContain('\n', e.Message);
        }
        Assert.True(failures > 500, $"only {failures} of 1500 corruptions were noticed");
    }
}
