using Cria.Formats.Meta;
using Cria.Model;
using Cria.Tests.Formats.Gguf.Support;

namespace Cria.Tests.Formats.Meta;

/// <summary>params.json: Meta's feed-forward width rule against the published sizes of every Llama, defaults for
/// missing keys, Llama 3.1's scaled RoPE, and the context length by family.</summary>
public class MetaParamsTests
{
    private static MetaParams Parse(string json)
    {
        using var dir = new TempDir();
        return MetaParams.Read(dir.Write("params.json", System.Text.Encoding.UTF8.GetBytes(json)));
    }

    // intermediate_size of the published models (LLaMA paper, Hugging Face configs) from their params.json fields.
    [Theory]
    [InlineData("LLaMA 7B / Llama 2 7B", 4096, 256, null, 11008)]
    [InlineData("LLaMA 13B / Llama 2 13B", 5120, 256, null, 13824)]
    [InlineData("LLaMA 33B", 6656, 256, null, 17920)]
    [InlineData("LLaMA 65B", 8192, 256, null, 22016)]
    [InlineData("Llama 2 70B", 8192, 4096, 1.3, 28672)]
    [InlineData("Llama 3 8B", 4096, 1024, 1.3, 14336)]
    [InlineData("Llama 3 70B", 8192, 4096, 1.3, 28672)]
    [InlineData("Llama 3.1 405B", 16384, 4096, 1.2, 53248)]
    [InlineData("Llama 3.2 1B", 2048, 256, 1.5, 8192)]
    [InlineData("Llama 3.2 3B", 3072, 256, 1.0, 8192)]
    [InlineData("stories260K", 64, 4, null, 172)]
    public void Hidden_size_follows_Meta_s_FeedForward_rule(string model, int dim, int multipleOf, double? multiplier, int expected)
    {
        var p = new MetaParams { Dim = dim, LayerCount = 1, HeadCount = 1, KvHeadCount = 1, MultipleOf = multipleOf, FfnDimMultiplier = multiplier };
        Assert.True(expected == p.HiddenDim, $"{model}: {p.HiddenDim}, published {expected}");
    }

    [Fact]
    public void Llama_2_params_take_Meta_s_defaults()
    {
        // Llama 2 7B's params.json as released: no n_kv_heads, no rope_theta, vocab_size -1.
        var p = Parse("""{"dim": 4096, "multiple_of": 256, "n_heads": 32, "n_layers": 32, "norm_eps": 1e-05, "vocab_size": -1}""");
        Assert.Equal((4096, 32, 32, 32, -1, 256), (p.Dim, p.HeadCount, p.KvHeadCount, p.LayerCount, p.VocabSize, p.MultipleOf));
        Assert.Equal((10000.0, false, 4096, 11008L), (p.RopeTheta, p.UseScaledRope, p.ContextLength, p.HiddenDim));
        var c = p.ToConfig(32000, "test");
        Assert.Equal((32000, 128, RopeScalingKind.None), (c.VocabSize, c.HeadDim, c.RopeScaling.Kind));
    }

    [Fact]
    public void Llama_3_1_params_use_Meta_s_scaled_rope_constants()
    {
        var p = Parse("""{"dim": 4096, "ffn_dim_multiplier": 1.3, "multiple_of": 1024, "n_heads": 32, "n_kv_heads": 8, "n_layers": 32, "norm_eps": 1e-05, "rope_theta": 500000.0, "use_scaled_rope": true, "vocab_size": 128256}""");
        var c = p.ToConfig(128256, "test");
        Assert.Equal(new RopeScaling(RopeScalingKind.Llama3, 8, 1, 4, 8192), c.RopeScaling);
        Assert.Equal((500000f, 8, 14336, 131072), (c.RopeTheta, c.KvHeadCount, c.HiddenDim, c.ContextLength));
        Assert.Equal(8192, Parse("""{"dim": 4096, "n_heads": 32, "n_layers": 32, "rope_theta": 500000.0}""").ContextLength); // Llama 3
        Assert.Equal(2048, Parse("""{"dim": 4096, "n_heads": 32, "n_layers": 32, "max_seq_len": 2048, "use_scaled_rope": true}""").ContextLength);
        Assert.Null(Parse("""{"dim": 64, "n_heads": 8, "n_layers": 1, "ffn_dim_multiplier": null, "n_kv_heads": null}""").FfnDimMultiplier);
    }
}
