using System.Runtime.InteropServices;
using Cria.Formats.Llama2c;
using Cria.Formats.PyTorch;
using Cria.Tests.Formats.Gguf.Support;
using Cria.Tests.Formats.PyTorch.Support;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Formats.PyTorch;

/// <summary>torch.save checkpoints: the real fixtures (torch 1.13, see stories260K-meta/PROVENANCE.md) read in place,
/// and checkpoints written here with every torch.save feature Cria handles (views, offsets, strides, zip64).</summary>
public unsafe class PyTorchFileTests
{
    private static readonly string[] LayerNames =
    [
        "attention.wq.weight", "attention.wk.weight", "attention.wv.weight", "attention.wo.weight", "feed_forward.w1.weight",
        "feed_forward.w2.weight", "feed_forward.w3.weight", "attention_norm.weight", "ffn_norm.weight",
    ];

    [Fact]
    public void The_bf16_fixture_holds_49_tensors_in_file_order_in_place()
    {
        using var file = PyTorchFile.Open(TestAssets.Path("stories260K-meta/consolidated.00.pth"));
        string[] expected = ["tok_embeddings.weight", .. Enumerable.Range(0, 5).SelectMany(i => LayerNames.Select(n => $"layers.{i}.{n}")),
            "norm.weight", "output.weight", "rope.freqs"];
        Assert.Equal(expected, file.Tensors.Select(t => t.Name));
        Assert.Equal("consolidated.00", file.ArchiveFolder);
        Assert.Empty(file.OtherEntries);
        Assert.All(file.Tensors, t =>
        {
            Assert.Equal(TorchDtype.BFloat16, t.Dtype);
            Assert.True(t.IsContiguous);
            Assert.Equal(0, t.StorageOffset);
            Assert.Equal(0, (long)t.Data % 64); // torch aligns storage records to 64 bytes; the map is page-aligned
        });
        Assert.Equal(Enumerable.Range(0, 49).Select(i => i.ToString()), file.Tensors.Select(t => t.StorageKey));
        Assert.True(file.TryGetTensor("layers.0.feed_forward.w2.weight", out var w2));
        Assert.Equal([64L, 172L], w2.Shape);
        Assert.Equal([172L, 1L], w2.Stride);
        Assert.True(file.TryGetTensor("rope.freqs", out var freqs));
        var bits = MemoryMarshal.Cast<byte, ushort>(freqs.Bytes).ToArray().Select(b => BitConverter.Int32BitsToSingle(b << 16));
        Assert.Equal([1.0f, 0.10009765625f, 0.010009765625f, 0.00099945068359375f], bits); // PROVENANCE.md's values
    }

    [Fact]
    public void The_f32_fixture_is_bitwise_the_llama2c_weights()
    {
        using var file = PyTorchFile.Open(TestAssets.Path("stories260K-meta/f32/consolidated.00.pth"));
        using var bin = Llama2cCheckpoint.Open(TestAssets.Path("stories260K/stories260K.bin"));
        Assert.All(file.Tensors, t => Assert.Equal(TorchDtype.Float32, t.Dtype));
        foreach (var expected in bin.Tensors)
        {
            Assert.True(file.TryGetTensor(expected.SourceName, out var actual), expected.SourceName);
            Assert.True(new ReadOnlySpan<byte>(expected.Parts[0].Data, (int)expected.ByteSize).SequenceEqual(actual.Bytes), expected.SourceName);
        }
        // stories260K's classifier is the embedding; Meta's layout stores it as its own copy.
        Assert.True(file.TryGetTensor("output.weight", out var output));
        Assert.True(file.TryGetTensor("tok_embeddings.weight", out var embedding));
        Assert.True(output.Bytes.SequenceEqual(embedding.Bytes));
    }

    private static TorchCheckpoint.Tensor Floats(string name, long[] shape, int count, float start = 0, string? key = null, long[]? stride = null, long offset = 0) =>
        new(name, "FloatStorage", shape, MemoryMarshal.AsBytes(Enumerable.Range(0, count).Select(i => start + i).ToArray().AsSpan()).ToArray(), stride, offset, key);

    private static float[] Values(PyTorchTensor t) => MemoryMarshal.Cast<byte, float>(t.Bytes).ToArray();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Views_offsets_and_strides_of_shared_storages(bool zip64)
    {
        TorchCheckpoint.Tensor[] tensors =
        [
            Floats("whole", [4, 6], 24, key: "s"),
            Floats("rows_2_3", [2, 6], 24, key: "s", offset: 12),
            Floats("transposed", [6, 4], 24, key: "s", stride: [1, 6]),
            Floats("column_vector", [4, 1], 24, key: "s", stride: [1, 100], offset: 5),
            Floats("scalar", [], 24, key: "s", offset: 23),
            Floats("other", [3], 3, start: 100),
        ];
        var zip = TorchCheckpoint.Zip("archive", TorchCheckpoint.Pickle(tensors), tensors);
        zip.Zip64 = zip64;
        using var dir = new TempDir();
        using var file = PyTorchFile.Open(dir.Write("views.pth", zip.ToArray()));
        var byName = file.Tensors.ToDictionary(t => t.Name);
        Assert.Equal(Enumerable.Range(0, 24).Select(i => (float)i), Values(byName["whole"]));
        Assert.Equal(Enumerable.Range(12, 12).Select(i => (float)i), Values(byName["rows_2_3"]));
        Assert.Equal([5f, 6f, 7f, 8f], Values(byName["column_vector"])); // size-1 dimensions may have any stride
        Assert.Equal([23f], Values(byName["scalar"]));
        Assert.Equal([100f, 101f, 102f], Values(byName["other"]));
        Assert.All(byName.Values.Where(t => t.Name != "other"), t => Assert.Equal("s", t.StorageKey));

        var transposed = byName["transposed"];
        Assert.False(transposed.IsContiguous);
        Rejects.Cheaply<ModelFormatException>(() => _ = transposed.Data, "'transposed'", "not contiguous row-major", "stride [1, 6]", "views.pth");
    }

    [Fact]
    public void A_deflated_data_pkl_is_read()
    {
        TorchCheckpoint.Tensor[] tensors = [Floats("w", [2, 2], 4)];
        var zip = new ZipBuilder();
        zip.Add("a/data.pkl", TorchCheckpoint.Pickle(tensors), deflate: true);
        zip.Add("a/data/0", tensors[0].Storage);
        using var dir = new TempDir();
        using var file = PyTorchFile.Open(dir.Write("deflated.pth", zip.ToArray()));
        Assert.Equal([0f, 1f, 2f, 3f], Values(file.Tensors.Single()));
    }

    [Fact]
    public void Non_tensor_entries_are_listed_apart()
    {
        var p = new PickleBuilder().Proto(2).EmptyDict().Mark().Unicode("step").Int(7).Unicode("w")
            .Tensor("FloatStorage", "0", 1, 0, [1], [1]).Int(3).Unicode("int key").SetItems().Stop();
        var zip = new ZipBuilder();
        zip.Add("x/data.pkl", p.ToArray());
        zip.Add("x/data/0", new byte[4]);
        using var dir = new TempDir();
        using var file = PyTorchFile.Open(dir.Write("mixed.pth", zip.ToArray()));
        Assert.Equal("w", file.Tensors.Single().Name);
        Assert.Equal(["str 'step': int 7", "int 3: str 'int key'"], file.OtherEntries);
    }
}
