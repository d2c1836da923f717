using Cria.Formats.Gguf;
using Cria.Tensors;
using Cria.Tests.Formats.Gguf.Support;
using static Cria.Tests.Formats.Gguf.Support.GgufBytes;

namespace Cria.Tests.Formats.Gguf;

/// <summary>Legal but unusual layouts, built byte by byte, that the reader must accept and read correctly,
/// and files too big for one .NET array or span (sparse files, so they cost no disk).</summary>
public class GgufReaderFormatTests
{
    private static GgufHeader Parse(GgufBytes bytes) => GgufParser.Parse(bytes.ToArray(), "test.gguf");

    [Fact]
    public void NestedArraysAreReadAsGgufPyWritesThem()
    {
        // gguf-py: an item of an array of arrays is (element type, count, items), with no type tag of its own.
        var h = Parse(Header(0, 1).Key("k", GgufValueType.Array).U32((uint)GgufValueType.Array).U64(3)
            .U32((uint)GgufValueType.String).U64(2).Str("a").Str("bc")
            .U32((uint)GgufValueType.UInt8).U64(0)
            .U32((uint)GgufValueType.Array).U64(1).U32((uint)GgufValueType.Int16).U64(1).Raw([0xFE, 0xFF]));
        var outer = Assert.IsType<GgufArray>(h.Metadata.Entries.Single().Value.Value);
        var items = Assert.IsType<GgufArray[]>(outer.Items);
        Assert.Equal(["a", "bc"], Assert.IsType<string[]>(items[0].Items));
        Assert.Empty(Assert.IsType<byte[]>(items[1].Items));
        var deepest = Assert.IsType<GgufArray[]>(items[2].Items).Single();
        Assert.Equal([(short)-2], Assert.IsType<short[]>(deepest.Items));
    }

    [Fact]
    public void ArraysNestedEightDeepAreAccepted()
    {
        var h = Parse(Header(0, 1).Key("k", GgufValueType.Array).Repeat(7, b => b.U32(9).U64(1)).U32(4).U64(1).U32(7));
        object v = h.Metadata.Entries.Single().Value.Value;
        for (int depth = 0; depth < 7; depth++) v = ((GgufArray[])((GgufArray)v).Items)[0];
        Assert.Equal([7u], Assert.IsType<uint[]>(((GgufArray)v).Items));
    }

    [Fact]
    public void Version2()
    {
        var h = Parse(Header(1, 1, version: 2).KvU32("n", 5).Tensor("t", [2], GgmlType.F16, 0).Pad().Zeros(32));
        Assert.Equal(2u, h.Version);
        Assert.Equal(5L, h.Metadata.GetInt("n"));
    }

    [Fact]
    public void NoTensorsNeedsNoDataSectionPadding()
    {
        var bytes = Header(0, 1).KvString("general.name", "vocab only");
        Assert.NotEqual(0, bytes.Length % 32);
        Assert.Empty(Parse(bytes).Tensors);
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(8u)]
    [InlineData(64u)]
    [InlineData(4096u)]
    public void CustomAlignmentMovesTheDataSection(uint alignment)
    {
        var b = Header(1, 1).KvU32("general.alignment", alignment).Tensor("t", [3], GgmlType.F32, 0);
        long headerEnd = b.Length;
        var h = Parse(b.Pad((int)alignment).Zeros(12));
        Assert.Equal((int)alignment, h.Alignment);
        Assert.Equal((headerEnd + alignment - 1) / alignment * alignment, h.DataOffset);
    }

    [Fact]
    public void EmptyTensorsAndGapsBetweenTensorsAreAccepted()
    {
        // ggml itself insists on back-to-back tensors; gaps and empty tensors are still well-defined, so accept them.
        var h = Parse(Header(3, 0).Tensor("empty", [0, 4], GgmlType.F32, 64).Tensor("a", [8], GgmlType.F32, 0)
            .Tensor("b", [8], GgmlType.F32, 96).Pad().Zeros(128));
        Assert.Equal(0, h.Tensors[0].ByteSize);
        Assert.Equal(96, h.Tensors[2].Offset);
    }

    [Fact]
    public void SparseFile_StringLongerThanASpan()
    {
        using var dir = new TempDir();
        string path = SparseFile(dir, 5L << 30, Header(0, 1).Key("k", GgufValueType.String).U64(3UL << 30));
        GgufAssert.RejectsCheaply<ModelFormatException>(() => GgufFile.Open(path).Dispose(), "'k'", "3221225472 bytes long");
    }

    [Fact]
    public void SparseFile_ArrayLongerThanADotNetArray()
    {
        using var dir = new TempDir();
        string path = SparseFile(dir, 5L << 30, Header(0, 1).Key("k", GgufValueType.Array).U32(0).U64((1UL << 31) + 1));
        GgufAssert.RejectsCheaply<ModelFormatException>(() => GgufFile.Open(path).Dispose(), "'k'", "2147483649 items");
    }

    [Fact]
    public void SparseFile_TensorBiggerThan4GiB()
    {
        using var dir = new TempDir();
        long elements = (9L << 30) / 8; // 4.5 GiB of F32, as 2 rows
        string path = SparseFile(dir, 5L << 30, Header(1, 0).Tensor("big", [(ulong)elements / 2, 2], GgmlType.F32, 0).Pad());
        using var f = GgufFile.Open(path);
        var t = f.Tensors.Single();
        Assert.Equal(9L << 29, t.ByteSize);
        Assert.Throws<CriaException>(() => f.TensorBytes(t).Length);
        using var stream = f.OpenTensorStream(t);
        Assert.Equal(t.ByteSize, stream.Length);
        stream.Seek(-1, SeekOrigin.End);
        Assert.Equal(0, stream.ReadByte());
    }

    private static string SparseFile(TempDir dir, long length, GgufBytes header)
    {
        string path = dir.File("sparse.gguf");
        using var stream = new FileStream(path, FileMode.CreateNew);
        stream.Write(header.ToArray());
        stream.SetLength(length); // the rest reads as zeros and takes no disk
        return path;
    }
}
