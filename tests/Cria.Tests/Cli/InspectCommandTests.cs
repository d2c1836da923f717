using Cria.Tests.Infrastructure;

namespace Cria.Tests.Cli;

public class InspectCommandTests
{
    [Fact]
    public void Gguf_listing_shows_hyper_parameters_tokenizer_and_every_tensor()
    {
        var r = CliRunner.Run("inspect", TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("GGUF v3", r.Stdout);
        Assert.Contains("embedding length    64", r.Stdout);
        Assert.Contains("heads               8 (KV heads 4, grouped-query), head dim 8", r.Stdout);
        Assert.Contains("SentencePiece BPE ('llama'), 512 tokens, bos 1 '<s>', eos 2 '</s>'", r.Stdout);
        Assert.Contains("llama.cpp GGUF naming", r.Stdout);
        Assert.Contains("[  1/48] ", r.Stdout);
        Assert.Contains("[ 48/48] ", r.Stdout);
        Assert.Matches(@"\[ *\d+/48\] blk\.0\.ffn_down\.weight \| size 64 x 172 \| type F32", r.Stdout);
        Assert.Matches(@"\[ *\d+/48\] token_embd\.weight \| size 512 x 64 \| type F32", r.Stdout);
        Assert.Empty(r.Stderr);
    }

    [Fact]
    public void Llama2c_listing_uses_meta_names_in_file_order()
    {
        var r = CliRunner.Run("inspect", TestAssets.Path("stories260K/stories260K.bin"));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("llama2.c (legacy), float32", r.Stdout);
        Assert.Contains("tokenizer:    SentencePiece, 512 tokens, bos 1, eos 2", r.Stdout);
        Assert.Contains("Meta naming", r.Stdout);
        Assert.Contains("[  1/47] tok_embeddings.weight | size 512 x 64 | type F32", r.Stdout);
        Assert.Contains("layers.0.attention.wk.weight | size 32 x 64 | type F32", r.Stdout);
        Assert.Contains("layers.4.feed_forward.w2.weight | size 64 x 172 | type F32", r.Stdout);
        Assert.Contains("[ 47/47] norm.weight | size 64 | type F32", r.Stdout);
    }

    [Fact]
    public void Vocabulary_only_gguf_is_listed_and_says_it_cannot_run()
    {
        var r = CliRunner.Run("inspect", TestAssets.Path("llamacpp-vocab/ggml-vocab-llama-spm.gguf"));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("32000 tokens", r.Stdout);
        Assert.Contains("tensors (0", r.Stdout);
    }

    [Fact]
    public void Meta_folder_listing_uses_meta_names_and_shows_shards()
    {
        var r = CliRunner.Run("inspect", TestAssets.Path("stories260K-meta-2shard"));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Meta naming", r.Stdout);
        Assert.Matches(@"layers\.0\.attention\.wq\.weight \| size 64 x 64 \| type BF16 \| 2 shards", r.Stdout);
        Assert.Contains("tokenizer:    SentencePiece, 512 tokens", r.Stdout);
    }
}
