using Cria.Model;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Model;

[Collection(SerialCollection.Name)]
public class DecodeAllocationTests
{
    [Theory]
    [InlineData("stories260K/stories260K.bin")]
    [InlineData("stories260K-gguf/stories260K-Q4_K_M-fallback.gguf")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q4_K_M.gguf")]
    public void Decoding_a_token_allocates_nothing_on_any_thread(string file)
    {
        using var model = LlamaModel.Load(TestAssets.Path(file));
        using var context = new LlamaContext(model, new ContextOptions { Threads = 2, ContextLength = 400 });
        int token = 1;
        for (int i = 0; i < 8; i++) token = Llama2cForwardTests.ArgMax(context.Process([token])); // warm up (JIT, tiering)
        // The count is process-wide, so a runtime thread (tiered JIT, a finishing test) can add a few bytes to one
        // round; per-token allocation would show in every round.
        long fewest = long.MaxValue;
        int gen0 = GC.CollectionCount(0);
        for (int round = 0; round < 5; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < 50; i++) token = Llama2cForwardTests.ArgMax(context.Process([token]));
            fewest = Math.Min(fewest, GC.GetTotalAllocatedBytes(precise: true) - before);
        }
        Assert.Equal(0, fewest);
        Assert.Equal(gen0, GC.CollectionCount(0));
    }
}
