using Cria.Conversion;
using Cria.Formats.Gguf;
using Cria.Model;
using Cria.Tensors;
using Cria.Tests.Cli;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Conversion;

/// <summary>Conversion to GGUF against the files llama.cpp's own tools made from the same weights.</summary>
public class ConvertTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("cria-convert-").FullName;

    public void Dispose() => Directory.Delete(_folder, true);

    private static void AssertSameTensorData(string expectedFile, string actualFile, Func<GgufTensorInfo, bool> which)
    {
        using var expected = GgufFile.Open(expectedFile);
        using var actual = GgufFile.Open(actualFile);
        int compared = 0;
        foreach (var t in actual.Tensors)
        {
            if (!expected.TryGetTensor(t.Name, out var e) || !which(e)) continue;
            Assert.Equal(e.Dimensions, t.Dimensions);
            Assert.Equal(e.Type, t.Type);
            Assert.True(expected.TensorBytes(e).SequenceEqual(actual.TensorBytes(t)), $"tensor {t.Name} differs from llama.cpp's");
            compared++;
        }
        Assert.True(compared >= 40, $"only {compared} tensors compared");
    }

    [Fact]
    public void Llama2c_to_f32_gguf_has_the_tensors_llama_cpps_converter_wrote()
    {
        string output = Path.Combine(_folder, "s.gguf");
        var r = CliRunner.Run("convert", TestAssets.Path("stories260K/stories260K.bin"), output, "--type", "F32");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("[  1/47] Writing tensor token_embd.weight | size 512 x 64 | type F32", r.Stdout);
        AssertSameTensorData(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"), output, _ => true);
    }

    [Theory]
    [InlineData("stories260K-meta/f32")]
    [InlineData("stories260K-hf/f32")]
    public void Meta_and_hugging_face_f32_give_the_tensors_llama_cpps_converter_wrote(string source)
    {
        // The same float32 weights in Meta's and HF's layouts (HF's q/k rows permuted for rotate_half): converting them
        // must give exactly the tensors llama.cpp made from the llama2.c file, so llama.cpp runs our files as its own.
        string output = Path.Combine(_folder, "s.gguf");
        var r = CliRunner.Run("convert", TestAssets.Path(source), output, "--tokenizer", TestAssets.Path("stories260K/tok512.bin"));
        Assert.Equal(0, r.ExitCode);
        AssertSameTensorData(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"), output, _ => true);
    }

    [Fact]
    public void F16_conversion_rounds_like_llama_quantize_and_keeps_norms_f32()
    {
        string output = Path.Combine(_folder, "s16.gguf");
        Assert.Equal(0, CliRunner.Run("convert", TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"), output, "--type", "f16").ExitCode);
        AssertSameTensorData(TestAssets.Path("stories260K-gguf/stories260K-F16.gguf"), output, _ => true);
        using var file = GgufFile.Open(output);
        Assert.All(file.Tensors.Where(t => t.Dimensions.Length == 1), t => Assert.Equal(GgmlType.F32, t.Type));
        Assert.Equal(1L, file.Metadata.GetInt("general.file_type"));
    }

    [Fact]
    public void Gguf_to_gguf_keeps_types_data_tokenizer_and_descriptive_metadata()
    {
        string source = TestAssets.Path("stories260K-gguf/stories260K-Q4_K_M-fallback.gguf");
        string output = Path.Combine(_folder, "same.gguf");
        Assert.Equal(0, CliRunner.Run("convert", source, output).ExitCode);
        AssertSameTensorData(source, output, _ => true);
        using var a = GgufFile.Open(source);
        using var b = GgufFile.Open(output);
        Assert.Equal(a.Metadata.GetArray<float>("tokenizer.ggml.scores"), b.Metadata.GetArray<float>("tokenizer.ggml.scores"));
        Assert.Equal(a.Metadata.GetArray<string>("tokenizer.ggml.tokens"), b.Metadata.GetArray<string>("tokenizer.ggml.tokens"));
        Assert.Equal(a.Metadata.GetString("general.name"), b.Metadata.GetString("general.name"));
        using var model = LlamaModel.Load(output);
        Assert.Equal(new[] { 1, 403, 407, 261, 378 }, model.Tokenizer!.Encode("Once upon a time"));
    }

    [Fact]
    public void A_failed_conversion_leaves_neither_output_nor_temporary_file_and_keeps_an_existing_output()
    {
        string output = Path.Combine(_folder, "keep.gguf");
        File.WriteAllText(output, "user's precious file");
        using var checkpoint = ModelLoader.OpenCheckpoint(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"));
        var plans = CheckpointConverter.PlanGguf(checkpoint, GgmlType.F16);
        int calls = 0;
        plans[10] = plans[10] with
        {
            Rows = (row, destination) => throw new IOException($"disk on fire after {++calls} rows"),
            RawRows = null,
        };
        Assert.Throws<IOException>(() => GgufModelWriter.Write(output, checkpoint.Config, checkpoint.Tokenizer, checkpoint.Metadata, plans, GgmlType.F16));
        Assert.Equal("user's precious file", File.ReadAllText(output));
        Assert.Single(Directory.GetFiles(_folder));
    }

    [Fact]
    public void Bad_arguments_are_one_line_errors()
    {
        var r = CliRunner.Run("convert", TestAssets.Path("stories260K/stories260K.bin"), Path.Combine(_folder, "x.gguf"), "--type", "q9_9");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("unknown or unwritable type 'q9_9'", r.Stderr);
        r = CliRunner.Run("convert", TestAssets.Path("stories260K/stories260K.bin"), Path.Combine(_folder, "missing-folder", "x.gguf"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("does not exist", r.Stderr);
        Assert.Empty(Directory.GetFiles(_folder));
    }

    [Fact]
    public void Hugging_face_row_order_back_to_adjacent_pairs_is_the_inverse_of_llama_cpps_permute()
    {
        // llama.cpp's permute (HF from Meta): reshape(heads, 2, hd/2, …).swapaxes(1, 2): in row (h, i, j) ← (h, j, i).
        int heads = 3, headDim = 8;
        var order = CheckpointConverter.HalvesToPairs(heads, headDim);
        Assert.Equal(Enumerable.Range(0, heads * headDim), order.Order());
        Assert.Equal([0, 4, 1, 5, 2, 6, 3, 7], order.Take(8));
        Assert.Equal(8, order[8]);
    }
}

public class ConvertChainTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("cria-chain-").FullName;

    public void Dispose() => Directory.Delete(_folder, true);

    [Theory]
    [InlineData("stories260K-hf", "BF16")]
    [InlineData("stories260K-hf/f32", "F32")]
    [InlineData("stories260K-meta", "BF16")]
    [InlineData("stories260K-meta/f32", "F32")]
    [InlineData("stories260K-meta-2shard", "BF16")]
    public void Any_layout_to_gguf_to_hugging_face_to_gguf_keeps_every_tensor_bit_identical(string source, string type)
    {
        string gguf1 = Path.Combine(_folder, "a.gguf"), hf = Path.Combine(_folder, "hf"), gguf2 = Path.Combine(_folder, "b.gguf");
        string tokenizer = TestAssets.Path("stories260K/tok512.bin");
        Assert.Equal(0, CliRunner.Run("convert", TestAssets.Path(source), gguf1, "--tokenizer", tokenizer).ExitCode);
        Assert.Equal(0, CliRunner.Run("convert", gguf1, hf).ExitCode);
        Assert.Equal(0, CliRunner.Run("convert", hf, gguf2, "--tokenizer", tokenizer).ExitCode);
        using var a = GgufFile.Open(gguf1);
        using var b = GgufFile.Open(gguf2);
        Assert.Equal(a.Tensors.Select(t => t.Name).Order(), b.Tensors.Select(t => t.Name).Order());
        foreach (var t in a.Tensors)
        {
            Assert.True(b.TryGetTensor(t.Name, out var u));
            Assert.Equal(t.Dimensions.Length == 1 ? GgmlType.F32 : Enum.Parse<GgmlType>(type), t.Type);
            Assert.Equal(t.Type, u.Type);
            Assert.True(a.TensorBytes(t).SequenceEqual(b.TensorBytes(u)), $"{t.Name} changed on the way");
        }
    }
}
