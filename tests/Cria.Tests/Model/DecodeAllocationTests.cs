using Cria.Formats.Llama2c;
using Cria.Model;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Model;

[Collection(SerialCollection.Name)]
public class DecodeAllocationTests
{
    [Fact]
    public void Decoding_a_token_allocates_nothing_on_any_thread()
    {
        var checkpoint = Llama2cCheckpoint.Open(TestAssets.Path("stories260K/stories260K.bin"));
        using var model = new LlamaModel(checkpoint.Config, checkpoint.Weights, null, "test", checkpoint);
        using var context = new LlamaContext(model, new ContextOptions { Threads = 2 });
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
