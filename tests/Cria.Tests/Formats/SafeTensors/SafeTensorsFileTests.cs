using Cria.Formats.SafeTensors;
using Cria.Tensors;
using Cria.Tests.Formats.Gguf.Support;
using Cria.Tests.Infrastructure;
using static Cria.Tests.Formats.SafeTensors.SafeTensorsBytes;

namespace Cria.Tests.Formats.SafeTensors;

/// <summary>Reading real safetensors files (the stories260K-hf fixtures) and small built ones: header facts as the
/// fixture's PROVENANCE.md states them, tensors used in place, dtypes that cannot be weights refused by name.</summary>
public unsafe class SafeTensorsFileTests
{
    [Theory]
    [InlineData("stories260K-hf/model.safetensors", 4888, 47, "BF16")]
    [InlineData("stories260K-hf/f32/model.safetensors", 4856, 47, "F32")]
    [InlineData("stories260K-hf/sharded/model-00001-of-00002.safetensors", 2912, 28, "F32")]
    [InlineData("stories260K-hf/sharded/model-00002-of-00002.safetensors", 2048, 20, "F32")]
    public void Fixture_headers_read_as_provenance_states(string file, long headerLength, int tensors, string dtype)
    {
        using var st = SafeTensorsFile.Open(TestAssets.Path(file));
        Assert.Equal(headerLength, st.HeaderLength);
        Assert.Equal(tensors, st.Tensors.Count);
        Assert.Equal([new KeyValuePair<string, string>("format", "pt")], st.Metadata);
        Assert.All(st.Tensors, t => Assert.Equal(dtype, t.DType.Name()));
        Assert.Equal(0, st.Tensors[0].Begin);
        Assert.Equal(new FileInfo(TestAssets.Path(file)).Length, st.DataOffset + st.Tensors[^1].End);
        Assert.True(SafeTensorsFile.HasSafeTensorsHeader(TestAssets.Path(file)));
    }

    [Fact]
    public void Tensors_are_used_in_place_in_ggml_dimension_order()
    {
        string path = TestAssets.Path("stories260K-hf/f32/model.safetensors");
        using var st = SafeTensorsFile.Open(path);
        var info = st.Tensor("model.layers.2.mlp.down_proj.weight");
        Assert.Equal([64L, 172L], info.Shape);
        var tensor = st.ToTensorData(info, "blk.2.ffn_down.weight");
        Assert.Equal([172L, 64L], tensor.Dimensions);
        Assert.Equal(GgmlType.F32, tensor.Type);
        Assert.Equal("model.layers.2.mlp.down_proj.weight", tensor.SourceName);
        Assert.True(tensor.Parts[0].Data == st.DataPointer(info), "the tensor must point into the map, not a copy");

        var fileBytes = System.IO.File.ReadAllBytes(path).AsSpan((int)(st.DataOffset + info.Begin), (int)info.ByteSize);
        var row = new byte[tensor.RowBytes];
        tensor.ReadRow(63, row);
        Assert.True(fileBytes.Slice(63 * row.Length, row.Length).SequenceEqual(row));
    }

    [Fact]
    public void Other_dtypes_read_fine_but_are_refused_as_weights()
    {
        using var dir = new TempDir();
        string header = $"{{{Tensor("ids", "I64", "2", 0, 16)},{Tensor("mask", "BOOL", "3", 16, 19)},{Tensor("w", "F16", "2,2", 19, 27)}}}";
        string path = dir.Write("mixed.safetensors", File(header, 27));
        using var st = SafeTensorsFile.Open(path);
        Assert.Equal(["ids", "mask", "w"], st.Tensors.Select(t => t.Name));
        Assert.Equal(16, st.Bytes(st.Tensor("ids")).Length);
        var e = Assert.Throws<ModelFormatException>(() => st.ToTensorData(st.Tensor("ids"), "x"));
        Assert.Contains("'ids' has dtype I64", e.Message);
        Assert.Contains(path, e.Message);
        Assert.Equal(GgmlType.F16, st.ToTensorData(st.Tensor("w"), "w").Type); // an odd offset is fine: reads are unaligned
    }

    [Fact]
    public void Tensors_come_in_data_order_whatever_the_header_order()
    {
        using var dir = new TempDir();
        string header = $"{{\"__metadata__\":{{\"b\":\"2\",\"a\":\"1\"}},{Tensor("second", "F32", "1", 4, 8)},{Tensor("first", "U8", "4", 0, 4)}," +
                        $"{Tensor("empty", "F32", "0", 8, 8)},{Tensor("scalar", "F32", "", 8, 12)}}}";
        using var st = SafeTensorsFile.Open(dir.Write("o.safetensors", File(header, 12)));
        Assert.Equal(["first", "second", "empty", "scalar"], st.Tensors.Select(t => t.Name));
        Assert.Equal(["b", "a"], st.Metadata.Select(m => m.Key));
        Assert.Equal(1, st.Tensor("scalar").ElementCount);
        Assert.Equal([1L], st.ToTensorData(st.Tensor("scalar"), "s").Dimensions);
        Assert.Throws<ModelFormatException>(() => st.ToTensorData(st.Tensor("empty"), "e"));
    }

    [Theory]
    [InlineData("stories260K-gguf/stories260K-f32.gguf")]
    [InlineData("stories260K/stories260K.bin")]
    [InlineData("stories260K-hf/config.json")]
    public void Other_files_do_not_look_like_safetensors(string file) =>
        Assert.False(SafeTensorsFile.HasSafeTensorsHeader(TestAssets.Path(file)));
}
