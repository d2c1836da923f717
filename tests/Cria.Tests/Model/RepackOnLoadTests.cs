using System.Security.Cryptography;
using Cria.Model;
using Cria.Quantization;
using Cria.Tests.Formats.Gguf.Support;
using Cria.Tensors;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Model;

/// <summary>Loading for inference repacks Q4_0 matrices where this machine has an interleaved layout for them (AVX-512),
/// into memory of the model's own read from the file: the file on disk must stay byte for byte what it was, and
/// conversions that open the same file must still see the stored rows. (That the repacked model
/// still computes llama.cpp's logits is <see cref="LlamaCppDecodePathTests"/>.)</summary>
public class RepackOnLoadTests
{
    private const string File = "synthetic-k256-gguf/synth-k256-Q4_0.gguf";

    [Fact]
    public void Loading_repacks_in_memory_and_never_writes_the_file()
    {
        string path = TestAssets.Path(File);
        byte[] before = SHA256.HashData(System.IO.File.ReadAllBytes(path));
        using (var model = LlamaModel.Load(path))
        {
            using var context = new LlamaContext(model, new ContextOptions { ContextLength = 16 });
            context.Process([1, 2, 3]);
            var q = model.Weights.Layers[0].Query;
            if (SimdTier.Current >= 512) Assert.Equal("Q4_0x16", q.Interleaved?.Name);
            else Assert.Null(q.Interleaved);
            // The same file opened for conversion meanwhile reads the stored rows, not the repacked ones.
            using var checkpoint = ModelLoader.OpenCheckpoint(path);
            var stored = new WeightMatrix(checkpoint.Tensor("blk.0.attn_q.weight"));
            var a = new float[q.Cols];
            var b = new float[q.Cols];
            for (int r = 0; r < q.Rows; r += 7)
            {
                stored.DequantizeRow(r, a);
                q.DequantizeRow(r, b);
                Assert.Equal(a, b);
            }
            Assert.Null(stored.Interleaved);
        }
        Assert.Equal(before, SHA256.HashData(System.IO.File.ReadAllBytes(path)));
    }

    [Fact]
    public void Float_activations_on_repacked_rows_match_the_stored_rows()
    {
        // QuantizeActivations = false takes each repacked row dequantised: the same logits as the stored layout gives.
        string path = TestAssets.Path(File);
        using var repacked = LlamaModel.Load(path);
        using var checkpoint = ModelLoader.OpenCheckpoint(path);
        using var stored = new LlamaModel(checkpoint.Config, LlamaWeightsBuilder.Build(checkpoint), null, "stored");
        var options = new ContextOptions { ContextLength = 16, QuantizeActivations = false };
        using var a = new LlamaContext(repacked, options);
        using var b = new LlamaContext(stored, options);
        int[] ids = [1, 5, 9, 200];
        float[] expected = b.Process(ids).ToArray();
        float[] actual = a.Process(ids).ToArray();
        Llama2cForwardTests.AssertClose(expected, actual, 1e-5f * expected.Max(Math.Abs), "float path");
    }

    /// <summary>F16 and BF16 matrices are repacked too (column pairs of 16 rows): decoding token by token (the group
    /// kernel) and a prompt as one batch (the GEMM over groups; the last token's output projection is a one-token
    /// product) give the stored rows' logits to float rounding. BF16 is made from the f32 file, as llama-quantize would.</summary>
    [Theory]
    [InlineData("F16")]
    [InlineData("BF16")]
    public void Float16_models_repacked_give_the_stored_rows_logits(string type)
    {
        using var dir = new TempDir();
        string path = type == "F16" ? TestAssets.Path("synthetic-k256-gguf/synth-k256-F16.gguf") : dir.File("bf16.gguf");
        if (type == "BF16")
            GgufQuantizer.Quantize(TestAssets.Path("synthetic-k256-gguf/synth-k256-f32.gguf"), path,
                new QuantizeOptions { FileType = LlamaFileType.MostlyBF16, Pure = true, Threads = 1 });
        using var repacked = LlamaModel.Load(path);
        using var checkpoint = ModelLoader.OpenCheckpoint(path);
        using var stored = new LlamaModel(checkpoint.Config, LlamaWeightsBuilder.Build(checkpoint), null, "stored");
        var q = repacked.Weights.Layers[0].Query;
        if (SimdTier.Current >= 512) Assert.Equal(type + "x16", q.Interleaved?.Name);
        else Assert.Null(q.Interleaved);
        Assert.Equal(q.Interleaved?.Name, repacked.Weights.Output.Interleaved?.Name);
        int[] ids = [1, 403, 407, 261, 378, 9];
        var options = new ContextOptions { ContextLength = 16 };
        using (var a = new LlamaContext(repacked, options))
        using (var b = new LlamaContext(stored, options))
        {
            float[] expected = b.Process(ids).ToArray();
            Llama2cForwardTests.AssertClose(expected, a.Process(ids).ToArray(), 1e-5f * expected.Max(Math.Abs), $"{type} batch");
        }
        using (var a = new LlamaContext(repacked, options))
        using (var b = new LlamaContext(stored, options))
            foreach (int id in ids)
            {
                float[] expected = b.Process([id]).ToArray();
                float[] actual = a.Process([id]).ToArray();
                Llama2cForwardTests.AssertClose(expected, actual, 1e-5f * expected.Max(Math.Abs), $"{type} decode");
            }
    }

    /// <summary>Loading without repacking (<c>--no-repack</c>) leaves every matrix in the file's pages and gives the
    /// repacked model's logits to float rounding, token by token (stored F16 rows take the row kernel over even/odd
    /// activation halves, Q4_0 the row dot) and as a batch. Both quantise activations for Q4_0 (the stored rows'
    /// default one-token dot reads float activations, a different rounding).</summary>
    [Theory]
    [InlineData("synthetic-k256-gguf/synth-k256-F16.gguf")]
    [InlineData(File)]
    public void Loading_without_repacking_keeps_the_stored_rows_and_the_logits(string file)
    {
        string path = TestAssets.Path(file);
        using var repacked = LlamaModel.Load(path);
        using var stored = LlamaModel.Load(path, repack: false);
        var all = stored.Weights.Layers.SelectMany(l => new[] { l.Query, l.Key, l.Value, l.Output, l.Gate, l.Up, l.Down }).Append(stored.Weights.Output);
        Assert.All(all, m => Assert.Null(m.Interleaved));
        if (SimdTier.Current >= 512) Assert.NotNull(repacked.Weights.Layers[0].Gate.Interleaved);
        int[] ids = [1, 403, 407, 261, 378, 9];
        var options = new ContextOptions { ContextLength = 16, QuantizeActivations = true };
        using (var a = new LlamaContext(stored, options))
        using (var b = new LlamaContext(repacked, options))
        {
            float[] expected = b.Process(ids).ToArray();
            Llama2cForwardTests.AssertClose(expected, a.Process(ids).ToArray(), 1e-5f * expected.Max(Math.Abs), "batch");
        }
        using (var a = new LlamaContext(stored, options))
        using (var b = new LlamaContext(repacked, options))
            foreach (int id in ids)
            {
                float[] expected = b.Process([id]).ToArray();
                Llama2cForwardTests.AssertClose(expected, a.Process([id]).ToArray(), 1e-5f * expected.Max(Math.Abs), "decode");
            }
    }

    /// <summary>An fp16 inf in one matrix keeps that matrix's stored rows (their exact conversion carries the inf
    /// through, as llama.cpp's does), while the other matrices are still repacked.</summary>
    [Fact]
    public unsafe void An_fp16_matrix_holding_an_inf_keeps_its_stored_rows()
    {
        using var dir = new TempDir();
        string path = dir.File("inf.gguf");
        System.IO.File.Copy(TestAssets.Path("synthetic-k256-gguf/synth-k256-F16.gguf"), path);
        long offset;
        using (var gguf = Cria.Formats.Gguf.GgufFile.Open(path))
        {
            var info = gguf.Tensors.Single(t => t.Name == "blk.0.attn_q.weight");
            offset = gguf.TensorData(info) - gguf.Mapping.Pointer;
        }
        using (var f = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            f.Position = offset + 2 * 37; // row 0, column 37
            f.Write([0x00, 0x7C]);       // +inf
        }
        using var model = LlamaModel.Load(path);
        var layer = model.Weights.Layers[0];
        Assert.Null(layer.Query.Interleaved);
        if (SimdTier.Current >= 512) Assert.Equal("F16x16", layer.Key.Interleaved?.Name);
        var row = new float[layer.Query.Cols];
        layer.Query.DequantizeRow(0, row);
        Assert.Equal(float.PositiveInfinity, row[37]);
        using var context = new LlamaContext(model, new ContextOptions { ContextLength = 16 });
        Assert.Equal(model.Config.VocabSize, context.Process([1, 2]).Length);
    }
}
