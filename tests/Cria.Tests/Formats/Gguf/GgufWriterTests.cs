using Cria.Formats.Gguf;
using Cria.Tensors;
using Cria.Tests.Formats.Gguf.Support;

namespace Cria.Tests.Formats.Gguf;

/// <summary>The writer's contract: the output appears only on <see cref="GgufWriter.Complete"/>, failures leave no
/// partial file and never touch an existing one, and bad input is refused with a message that names it.</summary>
public class GgufWriterTests
{
    private static readonly byte[] Original = "not really a model, but precious"u8.ToArray();

    private static string[] FilesIn(TempDir dir) => Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order().ToArray()!;

    [Fact]
    public void OutputAppearsOnlyOnComplete_ThroughATempFileInTheSameFolder()
    {
        using var dir = new TempDir();
        string path = dir.File("model.gguf");
        using (var w = new GgufWriter(path))
        {
            w.AddTensor("t", [4], GgmlType.F32);
            w.WriteTensor("t", new byte[16]);
            Assert.False(File.Exists(path));
            var temp = Assert.Single(FilesIn(dir));
            Assert.StartsWith(".model.gguf.", temp);
            w.Complete();
            Assert.Equal(["model.gguf"], FilesIn(dir));
        }
        Assert.Equal(["model.gguf"], FilesIn(dir));
        using var f = GgufFile.Open(path);
        Assert.Single(f.Tensors);
    }

    [Fact]
    public void AbandonedWriteLeavesNothing_AndKeepsTheExistingFile()
    {
        using var dir = new TempDir();
        string path = dir.Write("model.gguf", Original);
        using (var w = new GgufWriter(path))
        {
            w.AddTensor("a", [4], GgmlType.F32);
            w.AddTensor("b", [4], GgmlType.F32);
            w.WriteTensor("a", new byte[16]);
        } // disposed without Complete
        Assert.Equal(["model.gguf"], FilesIn(dir));
        Assert.Equal(Original, File.ReadAllBytes(path));
    }

    [Fact]
    public void FailedWriteLeavesNothing_AndKeepsTheExistingFile()
    {
        using var dir = new TempDir();
        string path = dir.Write("model.gguf", Original);
        using (var w = new GgufWriter(path))
        {
            w.AddTensor("a", [4], GgmlType.F32);
            var e = Assert.Throws<IOException>(() => w.WriteTensor("a", _ => throw new IOException("source disk died")));
            Assert.Equal("source disk died", e.Message);
            Assert.Contains("earlier write", Assert.Throws<InvalidOperationException>(() => w.Complete()).Message);
        }
        Assert.Equal(["model.gguf"], FilesIn(dir));
        Assert.Equal(Original, File.ReadAllBytes(path));
    }

    [Fact]
    public void CompleteReplacesTheExistingFile()
    {
        using var dir = new TempDir();
        string path = dir.Write("model.gguf", Original);
        using (var w = new GgufWriter(path))
        {
            w.AddMetadata("general.name", GgufValue.Of("new"));
            w.Complete();
        }
        using var f = GgufFile.Open(path);
        Assert.Equal("new", f.Metadata.GetString("general.name"));
    }

    [Fact]
    public void NoOverwrite_RefusesAnExistingFile_EvenOneThatAppearsDuringTheWrite()
    {
        using var dir = new TempDir();
        string taken = dir.Write("taken.gguf", Original);
        Assert.Throws<IOException>(() => new GgufWriter(taken, overwrite: false));

        string path = dir.File("racy.gguf");
        using (var w = new GgufWriter(path, overwrite: false))
        {
            dir.Write("racy.gguf", Original);
            Assert.Throws<IOException>(w.Complete);
        }
        Assert.Equal(Original, File.ReadAllBytes(path));
        Assert.Equal(["racy.gguf", "taken.gguf"], FilesIn(dir));
    }

    [Fact]
    public void RewritingAFileInPlaceWhileItIsMapped()
    {
        using var dir = new TempDir();
        string path = dir.File("model.gguf");
        using (var w = new GgufWriter(path))
        {
            w.AddMetadata("general.name", GgufValue.Of("v1"));
            w.AddTensor("t", [8], GgmlType.F32);
            w.WriteTensor("t", Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());
            w.Complete();
        }
        using (var src = GgufFile.Open(path))
        {
            using (var w = new GgufWriter(path)) // e.g. `cria quantize model.gguf model.gguf`
            {
                w.AddMetadata("general.name", GgufValue.Of("v2"));
                w.AddTensor(src.Tensors[0]);
                w.WriteTensor("t", src.OpenTensorStream(src.Tensors[0]));
                w.Complete();
            }
            Assert.Equal(31, src.TensorBytes(src.Tensors[0])[^1]); // the old mapping still reads the old file
        }
        using var f = GgufFile.Open(path);
        Assert.Equal("v2", f.Metadata.GetString("general.name"));
        Assert.Equal(31, f.TensorBytes(f.Tensors[0])[^1]);
    }

    public static readonly TheoryData<string> BadDeclarations =
    [
        "duplicate key", "alignment 0", "alignment 3", "alignment as uint64", "value of the wrong .NET type", "array items of the wrong type",
        "null string in array", "unpaired surrogate in value", "unpaired surrogate in key", "arrays nested 9 deep", "unknown value type",
        "duplicate tensor", "tensor name of 64 bytes", "no dimensions", "5 dimensions", "negative dimension", "row not whole blocks",
        "unknown tensor type", "element count overflow",
    ];

    [Theory]
    [MemberData(nameof(BadDeclarations))]
    public void BadDeclarationsAreRefused_AndTheWriterStaysUsable(string problem)
    {
        using var dir = new TempDir();
        string path = dir.File("x.gguf");
        using var w = new GgufWriter(path);
        w.AddMetadata("a", GgufValue.Of(1u));
        w.AddTensor("t", [4], GgmlType.F32);
        var nested = GgufArray.Of(1u);
        for (int i = 0; i < 8; i++) nested = GgufArray.Of(nested);
        (Action act, string says) = problem switch
        {
            "duplicate key" => ((Action)(() => w.AddMetadata("a", GgufValue.Of(2u))), "duplicate metadata key 'a'"),
            "alignment 0" => (() => w.AddMetadata("general.alignment", GgufValue.Of(0u)), "general.alignment"),
            "alignment 3" => (() => w.AddMetadata("general.alignment", GgufValue.Of(3u)), "power-of-two"),
            "alignment as uint64" => (() => w.AddMetadata("general.alignment", GgufValue.Of(32UL)), "UInt64"),
            "value of the wrong .NET type" => (() => w.AddMetadata("k", new GgufValue(GgufValueType.UInt32, 5)), "must be a UInt32, got Int32"),
            "array items of the wrong type" => (() => w.AddMetadata("k", GgufValue.Of(new GgufArray(GgufValueType.UInt32, new[] { 1 }))), "UInt32[]"),
            "null string in array" => (() => w.AddMetadata("k", GgufValue.OfArray("a", null!)), "'k'[1] is null"),
            "unpaired surrogate in value" => (() => w.AddMetadata("k", GgufValue.Of("a\ud800b")), "UTF-8"),
            "unpaired surrogate in key" => (() => w.AddMetadata("k\udc00", GgufValue.Of(1)), "metadata key"),
            "arrays nested 9 deep" => (() => w.AddMetadata("k", GgufValue.Of(nested)), "nested more than 8 deep"),
            "unknown value type" => (() => w.AddMetadata("k", new GgufValue((GgufValueType)13, 1)), "unknown GGUF value type 13"),
            "duplicate tensor" => (() => w.AddTensor("t", [4], GgmlType.F32), "duplicate tensor name 't'"),
            "tensor name of 64 bytes" => (() => w.AddTensor(new string('n', 64), [4], GgmlType.F32), "at most 63"),
            "no dimensions" => (() => w.AddTensor("u", [], GgmlType.F32), "0 dimensions"),
            "5 dimensions" => (() => w.AddTensor("u", [1, 1, 1, 1, 1], GgmlType.F32), "5 dimensions"),
            "negative dimension" => (() => w.AddTensor("u", [4, -1], GgmlType.F32), "dimension -1"),
            "row not whole blocks" => (() => w.AddTensor("u", [33], GgmlType.Q4_0), "not a whole number of Q4_0 blocks"),
            "unknown tensor type" => (() => w.AddTensor("u", [4], (GgmlType)4), "unknown type id 4"),
            "element count overflow" => (() => w.AddTensor("u", [1L << 36, 1L << 36], GgmlType.F32), "overflows"),
            _ => throw new ArgumentOutOfRangeException(nameof(problem)),
        };
        var e = Assert.ThrowsAny<ArgumentException>(act);
        Assert.Contains(says, e.Message);

        w.WriteTensor("t", new byte[16]); // a refused declaration changes nothing
        w.Complete();
        using var f = GgufFile.Open(path);
        Assert.Equal(["a"], f.Metadata.Entries.Select(x => x.Key));
        Assert.Equal(["t"], f.Tensors.Select(x => x.Name));
    }

    public static readonly TheoryData<string> MisusedDataPhases =
    [
        "out of order", "unknown tensor", "too many bytes", "too few bytes in one call", "too few bytes before the next",
        "too few bytes before Complete", "tensor missing at Complete", "metadata after data", "tensor after data", "one tensor too many",
    ];

    [Theory]
    [MemberData(nameof(MisusedDataPhases))]
    public void MisuseOfTheDataPhaseFailsTheWrite_AndLeavesNoFile(string misuse)
    {
        using var dir = new TempDir();
        string path = dir.File("x.gguf");
        using (var w = new GgufWriter(path))
        {
            w.AddTensor("a", [4], GgmlType.F32);
            w.AddTensor("b", [4], GgmlType.F32);
            (Action act, string says) = misuse switch
            {
                "out of order" => ((Action)(() => w.WriteTensor("b", new byte[16])), "'a' is next"),
                "unknown tensor" => (() => w.WriteTensor("zz", new byte[16]), "'a' is next"),
                "too many bytes" => (() => w.BeginTensor("a").Write(new byte[17]), "takes 16 bytes, but 17"),
                "too few bytes in one call" => (() => w.WriteTensor("a", new byte[15]), "needs 16 bytes, got 15"),
                "too few bytes before the next" => (() => { w.BeginTensor("a").Write(new byte[8]); w.BeginTensor("b"); }, "got 8 of its 16 bytes"),
                "too few bytes before Complete" => (() => { w.WriteTensor("a", new byte[16]); w.BeginTensor("b"); w.Complete(); }, "'b' got 0 of its 16"),
                "tensor missing at Complete" => (() => { w.WriteTensor("a", new byte[16]); w.Complete(); }, "only 1 of 2 tensors"),
                "metadata after data" => (() => { w.WriteTensor("a", new byte[16]); w.AddMetadata("k", GgufValue.Of(1)); }, "before the first tensor"),
                "tensor after data" => (() => { w.WriteTensor("a", new byte[16]); w.AddTensor("c", [4], GgmlType.F32); }, "before the first tensor"),
                "one tensor too many" => (() => { w.WriteTensor("a", new byte[16]); w.WriteTensor("b", new byte[16]); w.WriteTensor("b", new byte[16]); }, "already written"),
                _ => throw new ArgumentOutOfRangeException(nameof(misuse)),
            };
            var e = Assert.ThrowsAny<Exception>(act);
            Assert.True(e is InvalidOperationException or ArgumentException, e.ToString());
            Assert.Contains(says, e.Message);
        }
        Assert.Empty(FilesIn(dir));
    }

    [Fact]
    public void CompletedWriterRefusesFurtherUse()
    {
        using var dir = new TempDir();
        var w = new GgufWriter(dir.File("x.gguf"));
        w.Complete();
        Assert.Contains("already completed", Assert.Throws<InvalidOperationException>(() => w.AddMetadata("k", GgufValue.Of(1))).Message);
        w.Dispose();
        Assert.Throws<InvalidOperationException>(w.Complete);
        Assert.Equal(["x.gguf"], FilesIn(dir));
    }

    [Fact]
    public void BadConstructorArguments()
    {
        using var dir = new TempDir();
        Assert.Throws<ArgumentOutOfRangeException>(() => new GgufWriter(dir.File("x.gguf"), version: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GgufWriter(dir.File("x.gguf"), version: 4));
        Assert.Contains("is a directory", Assert.Throws<IOException>(() => new GgufWriter(dir.Path)).Message);
        Assert.Throws<DirectoryNotFoundException>(() => new GgufWriter(Path.Combine(dir.Path, "missing", "x.gguf")));
        Assert.Empty(FilesIn(dir));
    }
}
