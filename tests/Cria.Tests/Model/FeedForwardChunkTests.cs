using Cria.Model;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Model;

/// <summary>A batch goes through the feed-forward block <see cref="LlamaContext.FeedForwardTokens"/> tokens at a time
/// (64 for quantised weights, 128 for float ones); a prompt of several such chunks, the last one partial, must give the
/// logits of the same tokens fed one at a time.</summary>
public class FeedForwardChunkTests
{
    [Theory]
    [InlineData("stories260K-gguf/stories260K-f32.gguf", 128)]
    [InlineData("stories260K-gguf/stories260K-Q8_0.gguf", 64)]
    [InlineData("stories260K-gguf/stories260K-Q4_0.gguf", 64)]
    [InlineData("synthetic-k256-gguf/synth-k256-f32.gguf", 128)]
    [InlineData("synthetic-k256-gguf/synth-k256-F16.gguf", 128)]
    [InlineData("synthetic-k256-gguf/synth-k256-Q4_K_M.gguf", 64)]
    public void A_batch_of_several_chunks_gives_the_logits_of_single_tokens(string file, int chunk)
    {
        using var model = LlamaModel.Load(TestAssets.Path(file));
        Assert.Equal(chunk, LlamaContext.FeedForwardTokens(model.Weights.Layers[0].Gate.Type));
        int n = 2 * chunk + 22, vocab = model.Config.VocabSize;
        var random = new Random(5);
        int[] ids = [1, .. Enumerable.Range(1, n - 1).Select(_ => random.Next(3, vocab))];
        var batch = new float[n * vocab];
        using (var context = new LlamaContext(model, new ContextOptions { ContextLength = n, BatchSize = 256, QuantizeActivations = false })) context.ProcessAll(ids, batch);
        using var single = new LlamaContext(model, new ContextOptions { ContextLength = n, QuantizeActivations = false });
        float scale = batch.Max(Math.Abs);
        // Both on float activations: on 8-bit ones a value on a rounding boundary can take another step in either
        // path (0.012 at one position of Q8_0, chunked or not). Tiles against per-token dots: float rounding only.
        for (int i = 0; i < n; i++)
            Llama2cForwardTests.AssertClose(single.Process([ids[i]]).ToArray(), batch.AsSpan(i * vocab, vocab), 2e-5f * scale + 1e-5f, $"{file} position {i}");
    }
}
