using System.Security.Cryptography;
using System.Text.Json;
using Cria.Formats.Gguf;
using Cria.Model;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Model;

/// <summary>Architecture corners against llama.cpp's own logits (Data/llamacpp-synthetic-logits.json, made by
/// tools/llamacpp-fixtures with an f32 KV cache): RoPE base 500000, Llama 3.1 rope_freqs, linear RoPE scaling,
/// grouped-query attention down to one KV head, heads wider than dim/heads, a tied output, F16 matrices.</summary>
public class SyntheticLlamaCppTests
{
    private static readonly JsonElement Reference = JsonDocument.Parse(
        File.ReadAllText(Path.Combine(TestAssets.RepoRoot, "tests", "Cria.Tests", "Data", "llamacpp-synthetic-logits.json"))).RootElement.Clone();

    public static TheoryData<string> SpecNames => new(SyntheticLlama.Specs.Select(s => s.Name));

    [Theory]
    [MemberData(nameof(SpecNames))]
    public void Logits_match_llama_cpp(string name)
    {
        var spec = SyntheticLlama.Specs.Single(s => s.Name == name);
        var expected = Reference.GetProperty("models").GetProperty(name);
        string path = Path.Combine(Path.GetTempPath(), $"cria-synthetic-{name}-{Guid.NewGuid():N}.gguf");
        try
        {
            using (var vocabulary = GgufFile.Open(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf")))
                SyntheticLlama.Write(spec, path, vocabulary.Metadata);
            Assert.Equal(expected.GetProperty("file_sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));

            using var model = LlamaModel.Load(path);
            using var context = new LlamaContext(model);
            int[] ids = Reference.GetProperty("prompt_ids").Ints();
            var logits = new float[ids.Length * model.Config.VocabSize];
            context.ProcessAll(ids, logits);

            // llama.cpp turns activations into fp16 before an F16 matmul; with f32 weights it computes in f32 throughout.
            float tolerance = spec.MatrixType == Cria.Tensors.GgmlType.F16 ? 2e-2f : 1e-4f;
            int vocab = model.Config.VocabSize;
            foreach (var position in expected.GetProperty("logits_at_position").EnumerateObject())
            {
                int p = int.Parse(position.Name);
                Llama2cForwardTests.AssertClose(position.Value.Floats(), logits.AsSpan(p * vocab, vocab), tolerance, $"{name} position {p}");
            }
            var argmax = Enumerable.Range(0, ids.Length).Select(p => Llama2cForwardTests.ArgMax(logits.AsSpan(p * vocab, vocab))).ToArray();
            Assert.Equal(expected.GetProperty("argmax_per_position").Ints(), argmax);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
