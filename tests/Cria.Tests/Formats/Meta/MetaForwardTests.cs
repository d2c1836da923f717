using System.Text.Json;
using Cria.Formats.Meta;
using Cria.Model;
using Cria.Tests.Infrastructure;
using Cria.Tests.Model;

namespace Cria.Tests.Formats.Meta;

/// <summary>The forward pass on stories260K in Meta's layout (bf16, f32, and bf16 as 2 model-parallel shards) against
/// reference-logits.json: a float64 forward of the same weights (tools/fixtures/ref_llama.py, see PROVENANCE.md),
/// checked with its suggested tolerance for a float32 implementation (1e-4) and argmax at every position.</summary>
public class MetaForwardTests
{
    [Theory]
    [InlineData("stories260K-meta", "", "bf16")]
    [InlineData("stories260K-meta", "f32", "f32")]
    [InlineData("stories260K-meta-2shard", "", "bf16")]
    public void Logits_match_the_float64_reference(string folder, string subfolder, string variant)
    {
        var reference = Json.Load(folder + "/reference-logits.json");
        var expected = reference.GetProperty("variants").GetProperty(variant);
        int[] prompt = reference.GetProperty("prompt_ids").Ints();
        using var checkpoint = MetaCheckpointReader.Open(Path.Combine(TestAssets.Path(folder), subfolder), weightsOnly: true);
        using var model = new LlamaModel(checkpoint.Config, LlamaWeightsBuilder.Build(checkpoint), null, checkpoint.Description);
        using var context = new LlamaContext(model);
        int vocab = checkpoint.Config.VocabSize;
        var logits = new float[prompt.Length * vocab];
        context.ProcessAll(prompt, logits);

        Llama2cForwardTests.AssertClose(expected.GetProperty("last_position_logits").Floats(), logits.AsSpan((prompt.Length - 1) * vocab, vocab), 1e-4f,
            $"{folder}/{subfolder} last position");
        var argmax = expected.GetProperty("argmax_per_position").Ints();
        var maxLogits = expected.GetProperty("max_logit_per_position").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (int p = 0; p < prompt.Length; p++)
        {
            var row = logits.AsSpan(p * vocab, vocab);
            Assert.True(argmax[p] == Llama2cForwardTests.ArgMax(row), $"position {p}: argmax {Llama2cForwardTests.ArgMax(row)}, expected {argmax[p]}");
            Assert.True(Math.Abs(row[argmax[p]] - maxLogits[p]) <= 1e-4, $"position {p}: top logit {row[argmax[p]]}, expected {maxLogits[p]}");
        }
    }
}
