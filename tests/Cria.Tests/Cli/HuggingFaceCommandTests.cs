using System.Text;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Cli;

/// <summary>The command line on Hugging Face folders: inspect lists them, generate runs them (here with llama2.c's form
/// of the same vocabulary, which loads whatever tokenizer.model support exists).</summary>
public class HuggingFaceCommandTests
{
    [Fact]
    public void Inspect_lists_the_files_config_and_tensors_under_HF_names()
    {
        var r = CliRunner.Run("inspect", TestAssets.Path("stories260K-hf/sharded"));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Hugging Face LlamaForCausalLM", r.Stdout);
        Assert.Contains("model-00001-of-00002.safetensors: 679,272 bytes, 28 x F32", r.Stdout);
        Assert.Contains("model-00002-of-00002.safetensors: 496,904 bytes, 20 x F32", r.Stdout);
        Assert.Contains("8 dims, halves", r.Stdout);
        Assert.Contains("output projection   separate", r.Stdout);
        Assert.Contains("tokenizer:    tokenizer.model", r.Stdout);
        Assert.Contains("[  1/48] model.embed_tokens.weight | size 512 x 64 | type F32", r.Stdout);
        Assert.Contains("model.layers.4.mlp.down_proj.weight | size 64 x 172 | type F32", r.Stdout);
        Assert.Contains("parameters: 292,800", r.Stdout);
    }

    [Theory]
    [InlineData("stories260K-hf")]
    [InlineData("stories260K-hf/f32/model.safetensors")]
    [InlineData("stories260K-hf/sharded/config.json")]
    public void Generate_prints_the_same_greedy_text_as_the_llama2c_checkpoint(string model)
    {
        string tokenizer = TestAssets.Path("stories260K/tok512.bin");
        string[] Args(string path) => ["generate", path, "--prompt", "Once upon a time", "--temperature", "0", "-n", "40", "--tokenizer", tokenizer];
        var expected = CliRunner.Run(Args(TestAssets.Path("stories260K/stories260K.bin")));
        var r = CliRunner.Run(Args(TestAssets.Path(model)));
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(expected.Stdout, r.Stdout);
        Assert.Contains("loaded Hugging Face", r.Stderr);
    }

    [Fact]
    public void A_broken_HF_folder_is_one_line_on_stderr()
    {
        string dir = Path.Combine(Path.GetTempPath(), "cria-hf-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "config.json"), "{\"architectures\": [\"GPT2LMHeadModel\"]}");
            File.WriteAllBytes(Path.Combine(dir, "model.safetensors"), Encoding.UTF8.GetBytes("\u0002\0\0\0\0\0\0\0{}"));
            var r = CliRunner.Run("generate", dir, "--prompt", "x");
            Assert.NotEqual(0, r.ExitCode);
            Assert.Contains("architecture GPT2LMHeadModel is not supported", r.Stderr);
            Assert.Single(r.Stderr.Trim().Split('\n'));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
