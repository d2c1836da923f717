using Cria.Formats.Llama2c;
using Cria.Formats.Meta;
using Cria.Model;
using Cria.Tensors;
using Cria.Tests.Formats.Meta.Support;
using Cria.Tests.Infrastructure;
using Cria.Tests.Model;

namespace Cria.Tests.Formats.Meta;

/// <summary>Meta checkpoint folders read into a <see cref="LlamaCheckpoint"/>: the configuration from params.json,
/// tensors under GGUF names in place (shards merged as parts, not copies), against the llama2.c weights they were
/// made from and against each other (see the fixtures' PROVENANCE.md).</summary>
public unsafe class MetaCheckpointTests
{
    private static LlamaCheckpoint Open(string asset) => MetaCheckpointReader.Open(TestAssets.Path(asset), weightsOnly: true);

    [Fact]
    public void Params_json_gives_the_configuration()
    {
        using var checkpoint = Open("stories260K-meta");
        var c = checkpoint.Config;
        Assert.Equal((64, 172, 5, 8, 4, 512, 8), (c.Dim, c.HiddenDim, c.LayerCount, c.HeadCount, c.KvHeadCount, c.VocabSize, c.HeadDim));
        Assert.Equal((1e-5f, 10000f, RopeStyle.AdjacentPairs, RopeScalingKind.None, false), (c.RmsEps, c.RopeTheta, c.RopeStyle, c.RopeScaling.Kind, c.TiedOutput));
        Assert.Equal(4096, c.ContextLength); // no max_seq_len in Meta's params.json: Llama 2's context
        Assert.Equal(("Meta", "Meta"), (checkpoint.Format, checkpoint.Naming));
        Assert.Equal(Path.GetFullPath(TestAssets.Path("stories260K-meta")), checkpoint.Path);
    }

    [Theory]
    [InlineData("stories260K-meta", GgmlType.BF16)]
    [InlineData("stories260K-meta/f32", GgmlType.F32)]
    public void Tensors_get_GGUF_names_and_keep_Meta_names(string asset, GgmlType type)
    {
        using var checkpoint = Open(asset);
        Assert.Equal(48, checkpoint.Tensors.Count); // 49 minus rope.freqs, which Meta's loader ignores too
        Assert.False(checkpoint.TryGetTensor("rope_freqs.weight", out _));
        Assert.All(checkpoint.Tensors, t => Assert.Equal(type, t.Type));
        (string Gguf, string Meta, long[] Dims)[] expected =
        [
            ("token_embd.weight", "tok_embeddings.weight", [64, 512]),
            ("blk.0.attn_q.weight", "layers.0.attention.wq.weight", [64, 64]),
            ("blk.1.attn_k.weight", "layers.1.attention.wk.weight", [64, 32]),
            ("blk.2.attn_v.weight", "layers.2.attention.wv.weight", [64, 32]),
            ("blk.3.attn_output.weight", "layers.3.attention.wo.weight", [64, 64]),
            ("blk.4.ffn_gate.weight", "layers.4.feed_forward.w1.weight", [64, 172]),
            ("blk.4.ffn_down.weight", "layers.4.feed_forward.w2.weight", [172, 64]),
            ("blk.4.ffn_up.weight", "layers.4.feed_forward.w3.weight", [64, 172]),
            ("blk.0.attn_norm.weight", "layers.0.attention_norm.weight", [64]),
            ("blk.0.ffn_norm.weight", "layers.0.ffn_norm.weight", [64]),
            ("output_norm.weight", "norm.weight", [64]),
            ("output.weight", "output.weight", [64, 512]),
        ];
        foreach (var (gguf, meta, dims) in expected)
        {
            var t = checkpoint.Tensor(gguf);
            Assert.Equal(meta, t.SourceName);
            Assert.Equal(dims, t.Dimensions);
            Assert.True(t.IsContiguous);
        }
    }

    [Fact]
    public void The_f32_tensors_are_bitwise_stories260K_bin()
    {
        using var meta = Open("stories260K-meta/f32");
        using var bin = Llama2cCheckpoint.Open(TestAssets.Path("stories260K/stories260K.bin")).ToCheckpoint(null);
        foreach (var expected in bin.Tensors)
        {
            AssertSameRows(expected, meta.Tensor(expected.Name));
            Assert.Equal(expected.SourceName, meta.Tensor(expected.Name).SourceName);
        }
        AssertSameRows(bin.Tensor("token_embd.weight"), meta.Tensor("output.weight")); // the tied classifier, stored apart
    }

    [Fact]
    public void Opening_allocates_for_the_pickle_not_for_the_weights()
    {
        static long Allocated(string asset)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Open(asset).Dispose();
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Allocated("stories260K-meta/f32"); // warm up
        long bf16 = Allocated("stories260K-meta"), f32 = Allocated("stories260K-meta/f32"), sharded = Allocated("stories260K-meta-2shard");
        // The f32 weights take 585 KB more than the bf16 ones; reading them in place costs nothing more.
        Assert.True(Math.Abs(f32 - bf16) < 16 << 10, $"bf16 {bf16:N0} bytes, f32 {f32:N0} bytes");
        Assert.True(sharded < 2 * bf16 + (16 << 10), $"2 shards {sharded:N0} bytes, 1 file {bf16:N0} bytes");
    }

    [Fact]
    public void Two_shards_merge_into_the_single_file_tensor_by_tensor()
    {
        using var single = Open("stories260K-meta");
        using var sharded = Open("stories260K-meta-2shard");
        Assert.Equal("Meta (2 shards)", sharded.Format);
        Assert.Equal(single.Config, sharded.Config);
        Assert.Equal(single.Tensors.Select(t => t.Name), sharded.Tensors.Select(t => t.Name));
        foreach (var expected in single.Tensors) AssertSameRows(expected, sharded.Tensor(expected.Name));

        // Column-parallel weights are split by rows, row-parallel ones and the Llama 2 embedding by columns; norms are one part.
        Assert.Equal([(0, 32, 0, 64), (32, 32, 0, 64)], Parts(sharded.Tensor("blk.0.attn_q.weight")));
        Assert.Equal([(0, 16, 0, 64), (16, 16, 0, 64)], Parts(sharded.Tensor("blk.0.attn_k.weight")));
        Assert.Equal([(0, 86, 0, 64), (86, 86, 0, 64)], Parts(sharded.Tensor("blk.0.ffn_up.weight")));
        Assert.Equal([(0, 256, 0, 64), (256, 256, 0, 64)], Parts(sharded.Tensor("output.weight")));
        Assert.Equal([(0, 64, 0, 32), (0, 64, 32, 32)], Parts(sharded.Tensor("blk.0.attn_output.weight")));
        Assert.Equal([(0, 64, 0, 86), (0, 64, 86, 86)], Parts(sharded.Tensor("blk.0.ffn_down.weight")));
        Assert.Equal([(0, 512, 0, 32), (0, 512, 32, 32)], Parts(sharded.Tensor("token_embd.weight")));
        Assert.Equal([(0, 1, 0, 64)], Parts(sharded.Tensor("blk.0.ffn_norm.weight")));
        Assert.Equal(86 * 2, sharded.Tensor("blk.0.ffn_down.weight").Parts[1].RowStride); // the shard's own rows of 86 bf16, not the merged 172
    }

    [Fact]
    public void A_pth_file_opens_its_whole_folder()
    {
        using var checkpoint = MetaCheckpointReader.Open(TestAssets.Path("stories260K-meta-2shard/consolidated.01.pth"), weightsOnly: true);
        Assert.Equal("Meta (2 shards)", checkpoint.Format);
        Assert.Equal(2, checkpoint.Tensor("blk.0.attn_q.weight").Parts.Count);
    }

    [Fact]
    public void Rotary_buffers_are_ignored_as_Meta_s_loader_ignores_them()
    {
        // LLaMA 1 checkpoints may carry layers.N.attention.inner_attention.rope.freqs besides (or instead of) rope.freqs.
        using var folder = MetaFolder.CopyOf("stories260K-meta");
        folder.RewriteShard(0, ts => ts.Append(ts.Single(t => t.Name == "rope.freqs") with { Name = "layers.2.attention.inner_attention.rope.freqs", Key = "x" }));
        using var checkpoint = MetaCheckpointReader.Open(folder.Path, weightsOnly: true);
        Assert.Equal(48, checkpoint.Tensors.Count);
    }

    [Fact]
    public void ModelLoader_opens_a_Meta_folder_or_pth_with_a_named_tokenizer()
    {
        string tokenizer = TestAssets.Path("stories260K/tok512.bin");
        using (var checkpoint = ModelLoader.OpenCheckpoint(TestAssets.Path("stories260K-meta/f32/consolidated.00.pth"), tokenizer))
        {
            Assert.Equal("Meta", checkpoint.Format);
            Assert.Equal(512, checkpoint.Tokenizer!.VocabSize);
        }
        using (var checkpoint = ModelLoader.OpenCheckpoint(TestAssets.Path("stories260K-meta/params.json"), tokenizer))
            Assert.Equal(GgmlType.BF16, checkpoint.Tensor("output.weight").Type);
        using var model = LlamaModel.Load(TestAssets.Path("stories260K-meta-2shard"), tokenizer);
        using var context = new LlamaContext(model);
        var reference = Json.Load("stories260K-meta-2shard/reference-logits.json");
        var logits = context.Process(reference.GetProperty("prompt_ids").Ints());
        Assert.Equal(reference.GetProperty("variants").GetProperty("bf16").GetProperty("argmax_per_position").Ints()[^1], Llama2cForwardTests.ArgMax(logits));
    }

    [Fact]
    public void Without_a_tokenizer_ModelLoader_says_why()
    {
        using (var dir = MetaFolder.CopyOf("stories260K-meta"))
        {
            File.Delete(dir.File("tokenizer.model"));
            var missing = Assert.ThrowsAny<CriaException>(() => LlamaModel.Load(dir.Path));
            Assert.Contains("has no tokenizer.model; pass --tokenizer PATH", missing.Message);
            using var weights = MetaCheckpointReader.Open(dir.Path, weightsOnly: true);
            Assert.Null(weights.Tokenizer);
        }
        // tokenizer.model is a SentencePiece protobuf: loaded once TokenizerLoader reads those, else the error says why.
        var error = Record.Exception(() => LlamaModel.Load(TestAssets.Path("stories260K-meta")).Dispose());
        if (error == null) return;
        var e = Assert.IsAssignableFrom<CriaException>(error);
        Assert.Contains("tokenizer.model", e.Message);
        Assert.Contains("pass --tokenizer PATH", e.Message);
    }

    private static void AssertSameRows(TensorData expected, TensorData actual)
    {
        Assert.Equal(expected.Dimensions, actual.Dimensions);
        Assert.Equal(expected.Type, actual.Type);
        var e = new byte[expected.RowBytes];
        var a = new byte[actual.RowBytes];
        var ef = new float[expected.Cols];
        var af = new float[actual.Cols];
        for (int r = 0; r < expected.Rows; r++)
        {
            expected.ReadRow(r, e);
            actual.ReadRow(r, a);
            Assert.True(e.AsSpan().SequenceEqual(a), $"{actual.SourceName} row {r} differs");
            expected.DequantizeRow(r, ef);
            actual.DequantizeRow(r, af);
            Assert.Equal(ef, af);
        }
    }

    private static (int, int, int, int)[] Parts(TensorData t) => t.Parts.Select(p => (p.RowStart, p.Rows, p.ColStart, p.Cols)).ToArray();
}
