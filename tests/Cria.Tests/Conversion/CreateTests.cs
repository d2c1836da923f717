using Cria.Formats.Gguf;
using Cria.Model;
using Cria.Tests.Cli;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Conversion;

public class CreateTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("cria-create-").FullName;

    public void Dispose() => Directory.Delete(_folder, true);

    [Theory]
    [InlineData("stories260K", "f32")]
    [InlineData("stories15M", "f16")]
    [InlineData("stories15M", "bf16")]
    public void A_random_preset_has_the_published_shape_and_runs(string preset, string type)
    {
        string path = Path.Combine(_folder, $"{preset}-{type}.gguf");
        var r = CliRunner.Run("create", "--preset", preset, "--random", "--type", type, path);
        Assert.Equal(0, r.ExitCode);
        using var model = LlamaModel.Load(path);
        var expected = LlamaPresets.Get(preset);
        Assert.Equal((expected.Dim, expected.LayerCount, expected.HeadCount, expected.KvHeadCount, expected.HiddenDim, expected.VocabSize, expected.ContextLength),
            (model.Config.Dim, model.Config.LayerCount, model.Config.HeadCount, model.Config.KvHeadCount, model.Config.HiddenDim, model.Config.VocabSize, model.Config.ContextLength));
        using var context = new LlamaContext(model);
        var logits = context.Process([1, 300, 301]);
        Assert.All(logits.ToArray(), v => Assert.True(float.IsFinite(v)));
        Assert.True(logits.ToArray().Max() - logits.ToArray().Min() > 0.01f); // not degenerate
    }

    [Fact]
    public void The_same_seed_gives_the_same_file_and_another_seed_another()
    {
        string a = Path.Combine(_folder, "a.gguf"), b = Path.Combine(_folder, "b.gguf"), c = Path.Combine(_folder, "c.gguf");
        Assert.Equal(0, CliRunner.Run("create", "--preset", "stories260K", "--random", "--seed", "7", a).ExitCode);
        Assert.Equal(0, CliRunner.Run("create", "--preset", "stories260K", "--random", "--seed", "7", b).ExitCode);
        Assert.Equal(0, CliRunner.Run("create", "--preset", "stories260K", "--random", "--seed", "8", c).ExitCode);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        Assert.NotEqual(File.ReadAllBytes(a), File.ReadAllBytes(c));
    }

    [Fact]
    public void Llama_3_2_presets_are_tied_and_carry_rope_freqs()
    {
        var c = LlamaPresets.Get("llama-3.2-1b");
        Assert.True(c.TiedOutput);
        Assert.Equal(1_235_814_400, LlamaPresets.ParameterCount(c)); // Meta's model card: 1.23 B
        Assert.Equal(8_030_261_248, LlamaPresets.ParameterCount(LlamaPresets.Get("llama-3-8b")));
        Assert.Equal(6_738_415_616, LlamaPresets.ParameterCount(LlamaPresets.Get("llama-2-7b")));
        Assert.Equal(1_100_048_384, LlamaPresets.ParameterCount(LlamaPresets.Get("tinyllama-1.1b")));
    }

    [Fact]
    public void A_real_tokenizer_is_stored_and_a_mismatched_one_refused()
    {
        string path = Path.Combine(_folder, "s.gguf");
        Assert.Equal(0, CliRunner.Run("create", "--preset", "stories260K", "--random", path, "--tokenizer", TestAssets.Path("stories260K/tok512.bin")).ExitCode);
        using (var file = GgufFile.Open(path)) Assert.Equal("<0x0A>", file.Metadata.GetArray<string>("tokenizer.ggml.tokens")![13]);
        var r = CliRunner.Run("create", "--preset", "stories15M", "--random", path, "--tokenizer", TestAssets.Path("stories260K/tok512.bin"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("512 tokens", r.Stderr);
        r = CliRunner.Run("create", "--preset", "gpt-5", "--random", path);
        Assert.Contains("unknown preset 'gpt-5'", r.Stderr);
    }
}
