using Cria.Formats.Meta;

namespace Cria.Tests.Formats.Meta;

/// <summary>Meta tensor names to GGUF names and model-parallel splits (as fairscale's layers in Meta's model.py).</summary>
public class MetaLayoutTests
{
    [Theory]
    [InlineData("tok_embeddings.weight", "token_embd.weight", MetaSplit.Embedding, -1)]
    [InlineData("norm.weight", "output_norm.weight", MetaSplit.Replicated, -1)]
    [InlineData("output.weight", "output.weight", MetaSplit.Rows, -1)]
    [InlineData("rope.freqs", "", MetaSplit.Ignored, -1)]
    [InlineData("layers.0.attention.wq.weight", "blk.0.attn_q.weight", MetaSplit.Rows, 0)]
    [InlineData("layers.7.attention.wk.weight", "blk.7.attn_k.weight", MetaSplit.Rows, 7)]
    [InlineData("layers.12.attention.wv.weight", "blk.12.attn_v.weight", MetaSplit.Rows, 12)]
    [InlineData("layers.125.attention.wo.weight", "blk.125.attn_output.weight", MetaSplit.Columns, 125)]
    [InlineData("layers.3.feed_forward.w1.weight", "blk.3.ffn_gate.weight", MetaSplit.Rows, 3)]
    [InlineData("layers.3.feed_forward.w2.weight", "blk.3.ffn_down.weight", MetaSplit.Columns, 3)]
    [InlineData("layers.3.feed_forward.w3.weight", "blk.3.ffn_up.weight", MetaSplit.Rows, 3)]
    [InlineData("layers.3.attention_norm.weight", "blk.3.attn_norm.weight", MetaSplit.Replicated, 3)]
    [InlineData("layers.3.ffn_norm.weight", "blk.3.ffn_norm.weight", MetaSplit.Replicated, 3)]
    [InlineData("layers.3.attention.inner_attention.rope.freqs", "", MetaSplit.Ignored, 3)]
    public void Meta_names_map_to_GGUF_names_and_splits(string meta, string gguf, MetaSplit split, int layer)
    {
        Assert.True(MetaLayout.TryMap(meta, out string name, out var s, out int l));
        Assert.Equal((gguf, split, layer), (name, s, l));
    }

    [Theory]
    [InlineData("layers.01.attention.wq.weight")]
    [InlineData("layers.-1.attention.wq.weight")]
    [InlineData("layers.+1.attention.wq.weight")]
    [InlineData("layers.123456.attention.wq.weight")]
    [InlineData("layers..attention.wq.weight")]
    [InlineData("layers.0.attention.wq")]
    [InlineData("layers.0")]
    [InlineData("model.layers.0.self_attn.q_proj.weight")]
    [InlineData("tok_embeddings.bias")]
    [InlineData("")]
    public void Other_names_are_not_Meta_s(string name) => Assert.False(MetaLayout.TryMap(name, out _, out _, out _));

    [Fact]
    public void Every_layer_has_nine_weights()
    {
        var names = MetaLayout.RequiredNames(2).ToList();
        Assert.Equal(3 + 2 * 9, names.Count);
        Assert.All(names, n => Assert.True(MetaLayout.TryMap(n, out _, out var split, out _) && split != MetaSplit.Ignored, n));
    }
}
