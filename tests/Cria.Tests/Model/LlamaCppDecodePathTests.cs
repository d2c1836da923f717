using System.Text.Json;
using Cria.Model;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Model;

/// <summary>Token-by-token decoding against llama.cpp's (Data/llamacpp-seq-f32kv-logits.json, made by
/// tools/llamacpp-seq-logits/make.sh: one token per llama_decode, f32 KV cache, no flash attention). With the cache in
/// float on both sides, what is left is the matmuls: activations quantised to ggml's 8-bit blocks byte for byte and
/// the same integer block sums, so the logits agree to float rounding, where float activations are 0.1 away.</summary>
public class LlamaCppDecodePathTests
{
    private static readonly JsonElement Reference = JsonDocument.Parse(
        File.ReadAllText(Path.Combine(TestAssets.RepoRoot, "tests", "Cria.Tests", "Data", "llamacpp-seq-f32kv-logits.json"))).RootElement.Clone();

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var f in Reference.GetProperty("files").EnumerateObject()) data.Add(f.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Decoding_one_token_at_a_time_gives_llama_cpp_logits(string file)
    {
        var reference = Reference.GetProperty("files").GetProperty(file);
        using var model = LlamaModel.Load(TestAssets.Path(file));
        using var context = new LlamaContext(model, new ContextOptions { ContextLength = 64, QuantizeActivations = true });
        float[] logits = [];
        foreach (var id in reference.GetProperty("ids").Ints()) logits = context.Process([id]).ToArray();
        float[] expected = reference.GetProperty("logits_last").Floats();
        float scale = expected.Max(Math.Abs);
        // 1e-5 of the largest logit: float32 rounding of sums taken in another order, not a quantisation step.
        Llama2cForwardTests.AssertClose(expected, logits, 1e-5f * scale + 1e-5f, file);
    }

    /// <summary>The prompt as one batch (tile kernels: each weight block decoded once for many tokens) gives the same
    /// logits as token-by-token decoding, so llama.cpp's, to float rounding.</summary>
    [Theory]
    [MemberData(nameof(Files))]
    public void A_prompt_processed_as_one_batch_gives_llama_cpp_logits(string file)
    {
        var reference = Reference.GetProperty("files").GetProperty(file);
        using var model = LlamaModel.Load(TestAssets.Path(file));
        using var context = new LlamaContext(model, new ContextOptions { ContextLength = 64, QuantizeActivations = true });
        float[] logits = context.Process(reference.GetProperty("ids").Ints()).ToArray();
        float[] expected = reference.GetProperty("logits_last").Floats();
        Llama2cForwardTests.AssertClose(expected, logits, 1e-5f * expected.Max(Math.Abs) + 1e-5f, file);
    }
}
