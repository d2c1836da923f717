using Cria.Formats.SafeTensors;
using Cria.Tests.Formats.Gguf.Support;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Formats.SafeTensors;

/// <summary>The writer against the reference library's own expected bytes (huggingface/safetensors tensor.rs tests),
/// byte-identical rewrites of the fixture files, its layout rule (descending dtype, then name by UTF-8 bytes, so every
/// tensor is aligned to its element size) and its temp-file-then-rename behaviour.</summary>
public class SafeTensorsWriterTests
{
    private static byte[] Floats(params float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    private static byte[] WriteToBytes(Action<SafeTensorsWriter> fill)
    {
        using var dir = new TempDir();
        string path = dir.File("out.safetensors");
        using (var w = new SafeTensorsWriter(path))
        {
            fill(w);
            w.Complete();
        }
        return File.ReadAllBytes(path);
    }

    // tensor.rs test_serialization: {"attn.0": F32 [1,2,3] = 0..5}.
    [Fact]
    public void Matches_the_reference_serialization_test()
    {
        byte[] expected =
        [
            64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 51, 50,
            34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115, 101,
            116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0,
            160, 64,
        ];
        Assert.Equal(expected, WriteToBytes(w =>
        {
            w.AddTensor("attn.0", SafeTensorsDType.F32, [1, 2, 3]);
            w.WriteTensor("attn.0", Floats(0, 1, 2, 3, 4, 5));
        }));
    }

    // tensor.rs test_serialization_forced_alignement: a shorter name makes the header need 7 spaces of padding.
    [Fact]
    public void Matches_the_reference_forced_alignment_test()
    {
        byte[] expected =
        [
            72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34,
            44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
            101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32, 32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0,
            0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
        ];
        Assert.Equal(expected, WriteToBytes(w =>
        {
            w.AddTensor("attn0", SafeTensorsDType.F32, [1, 1, 2, 3]);
            w.WriteTensor("attn0", Floats(0, 1, 2, 3, 4, 5));
        }));
    }

    // tensor.rs test_empty, without and with metadata.
    [Fact]
    public void Matches_the_reference_empty_tests()
    {
        Assert.Equal([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32], WriteToBytes(_ => { }));
        byte[] withMetadata =
        [
            40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102, 114, 97, 109, 101,
            119, 111, 114, 107, 34, 58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
        ];
        Assert.Equal(withMetadata, WriteToBytes(w => w.AddMetadata("framework", "pt")));
    }

    [Theory]
    [InlineData("stories260K-hf/model.safetensors")]
    [InlineData("stories260K-hf/f32/model.safetensors")]
    [InlineData("stories260K-hf/sharded/model-00001-of-00002.safetensors")]
    [InlineData("stories260K-hf/sharded/model-00002-of-00002.safetensors")]
    public void Rewriting_a_fixture_gives_the_same_bytes(string file)
    {
        string path = TestAssets.Path(file);
        using var source = SafeTensorsFile.Open(path);
        var bytes = WriteToBytes(w =>
        {
            foreach (var (key, value) in source.Metadata) w.AddMetadata(key, value);
            foreach (var t in source.Tensors.Reverse()) w.AddTensor(t.Name, t.DType, t.Shape); // declaration order does not matter
            foreach (var t in w.Layout) w.WriteTensor(t.Name, source.Bytes(source.Tensor(t.Name)));
        });
        Assert.Equal(File.ReadAllBytes(path), bytes);
    }

    [Fact]
    public void Layout_sorts_by_descending_dtype_then_utf8_name_and_aligns_every_tensor()
    {
        using var dir = new TempDir();
        string path = dir.File("mixed.safetensors");
        var declared = new (string Name, SafeTensorsDType DType, long[] Shape)[]
        {
            ("z", SafeTensorsDType.F16, [3]), ("b", SafeTensorsDType.F32, [1]), ("a", SafeTensorsDType.BF16, [5]), ("c", SafeTensorsDType.U8, [3]),
            ("d", SafeTensorsDType.I64, [2]), ("\U0001F600", SafeTensorsDType.F32, [1]), ("\uFF61", SafeTensorsDType.F32, [1]),
            ("quote\"back\\slash\nnew\u0001line é", SafeTensorsDType.F64, [1]), ("f4", SafeTensorsDType.F4, [2]),
        };
        var data = new Dictionary<string, byte[]>();
        using (var w = new SafeTensorsWriter(path))
        {
            w.AddMetadata("note", "line\nbreak \"q\" ü");
            foreach (var (name, dtype, shape) in declared) data[name] = Enumerable.Range(1, (int)w.AddTensor(name, dtype, shape)).Select(i => (byte)(i * 31 + name.Length)).ToArray();
            // U+FF61 is EF BD A1 in UTF-8, before the emoji's F0 …, though UTF-16 order would put the emoji (D83D) first.
            Assert.Equal(["d", "quote\"back\\slash\nnew\u0001line é", "b", "\uFF61", "\U0001F600", "a", "z", "c", "f4"], w.Layout.Select(t => t.Name));
            foreach (var t in w.Layout) w.WriteTensor(t.Name, data[t.Name]);
            w.Complete();
        }
        using var back = SafeTensorsFile.Open(path);
        Assert.Equal([new KeyValuePair<string, string>("note", "line\nbreak \"q\" ü")], back.Metadata);
        Assert.Equal(0, back.DataOffset % 8);
        foreach (var (name, dtype, shape) in declared)
        {
            var t = back.Tensor(name);
            Assert.Equal(dtype, t.DType);
            Assert.Equal(shape, t.Shape);
            Assert.Equal(data[name], back.Bytes(t).ToArray());
            Assert.True((back.DataOffset + t.Begin) % Math.Max(1, dtype.Bits() / 8) == 0, $"'{name}' is not aligned to its element size");
        }
    }

    [Fact]
    public void Streaming_a_tensor_in_pieces_gives_the_same_file()
    {
        var whole = WriteToBytes(w =>
        {
            w.AddTensor("t", SafeTensorsDType.F32, [2, 3]);
            w.WriteTensor("t", Floats(1, 2, 3, 4, 5, 6));
        });
        var pieces = WriteToBytes(w =>
        {
            w.AddTensor("t", SafeTensorsDType.F32, [2, 3]);
            using var sink = w.BeginTensor("t");
            sink.Write(Floats(1, 2, 3));
            sink.Write(Floats(4, 5, 6));
        });
        Assert.Equal(whole, pieces);
    }

    [Fact]
    public void Misuse_is_refused_and_leaves_no_file()
    {
        using var dir = new TempDir();
        string path = dir.File("bad.safetensors");
        using (var w = new SafeTensorsWriter(path))
        {
            w.AddTensor("a", SafeTensorsDType.F32, [2]);
            w.AddTensor("b", SafeTensorsDType.F32, [2]);
            Assert.Throws<ArgumentException>(() => w.AddTensor("a", SafeTensorsDType.F32, [1]));
            Assert.Throws<ArgumentException>(() => w.AddTensor("__metadata__", SafeTensorsDType.F32, [1]));
            Assert.Throws<ArgumentException>(() => w.AddTensor("neg", SafeTensorsDType.F32, [-1]));
            Assert.Throws<ArgumentException>(() => w.AddTensor("odd", SafeTensorsDType.F4, [3]));
            Assert.Throws<ArgumentException>(() => w.AddTensor("huge", SafeTensorsDType.F64, [long.MaxValue, 4]));
            Assert.Throws<ArgumentException>(() => w.AddTensor("\ud800", SafeTensorsDType.F32, [1]));
            var e = Assert.Throws<InvalidOperationException>(() => w.WriteTensor("b", new byte[8]));
            Assert.Contains("'a' is next", e.Message);
            Assert.Throws<InvalidOperationException>(() => w.Complete()); // the writer is failed now
        }
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));

        using (var w = new SafeTensorsWriter(path))
        {
            w.AddTensor("a", SafeTensorsDType.F32, [2]);
            Assert.Throws<ArgumentException>(() => w.WriteTensor("a", new byte[4]));
        }
        using (var w = new SafeTensorsWriter(path))
        {
            w.AddTensor("a", SafeTensorsDType.F32, [2]);
            w.AddTensor("b", SafeTensorsDType.F32, [2]);
            w.WriteTensor("a", new byte[8]);
            Assert.Throws<InvalidOperationException>(() => w.Complete());
        }
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }

    [Fact]
    public void An_abandoned_write_keeps_the_old_file_and_overwrite_false_refuses()
    {
        using var dir = new TempDir();
        string path = dir.Write("keep.safetensors", [1, 2, 3]);
        using (var w = new SafeTensorsWriter(path))
        {
            w.AddTensor("a", SafeTensorsDType.F32, [1]);
            w.WriteTensor("a", new byte[4]);
        }
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Single(Directory.EnumerateFileSystemEntries(dir.Path));
        Assert.Throws<IOException>(() => new SafeTensorsWriter(path, overwrite: false));
    }
}
