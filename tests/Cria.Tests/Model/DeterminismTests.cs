using Cria.Model;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Model;

/// <summary>Results do not depend on the thread count: every output element is computed by one thread with the same
/// code whatever the split, so logits are bitwise equal and greedy text identical with 1 and 2 threads.</summary>
public class DeterminismTests
{
    [Theory]
    [InlineData("stories260K-gguf/stories260K-f32.gguf")]
    [InlineData("stories260K-gguf/stories260K-Q4_K_M-fallback.gguf")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q4_K_M.gguf")]
    [InlineData("synthetic-k256-gguf/synth-k256-F16.gguf")]
    [InlineData("llama2-tiny-random-gguf/llama-2-tiny-random.gguf")]
    public void Logits_of_a_prompt_and_greedy_continuation_are_bitwise_equal_for_1_and_2_threads(string file)
    {
        using var model = LlamaModel.Load(TestAssets.Path(file));
        int[] prompt = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 100, 7, 300, 511, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28];
        (float[] Logits, int[] Greedy) Run(int threads)
        {
            using var context = new LlamaContext(model, new ContextOptions { Threads = threads, ContextLength = 128, BatchSize = 16 });
            var all = new float[prompt.Length * model.Config.VocabSize];
            context.ProcessAll(prompt, all);
            var greedy = new List<int>();
            int token = Llama2cForwardTests.ArgMax(all.AsSpan((prompt.Length - 1) * model.Config.VocabSize, model.Config.VocabSize));
            for (int i = 0; i < 24; i++)
            {
                greedy.Add(token);
                token = Llama2cForwardTests.ArgMax(context.Process([token]));
            }
            return (all, greedy.ToArray());
        }
        var one = Run(1);
        var two = Run(2);
        Assert.Equal(one.Greedy, two.Greedy);
        Assert.True(one.Logits.AsSpan().SequenceEqual(two.Logits), "logits differ between 1 and 2 threads");
    }
}
