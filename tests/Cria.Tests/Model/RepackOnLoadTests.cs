using System.Security.Cryptography;
using Cria.Model;
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
}
