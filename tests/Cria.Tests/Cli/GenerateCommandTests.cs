using System.Text;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Cli;

/// <summary><c>cria generate</c> end to end: greedy text equals what llama2.c's run.c and llama.cpp print.</summary>
public class GenerateCommandTests
{
    [Fact]
    public void Llama2c_checkpoint_from_bos_prints_run_c_greedy_story()
    {
        var expected = Json.Load("stories260K/stories260K.expected.json").GetProperty("greedy_from_bos");
        int steps = expected.GetProperty("generated_ids").GetArrayLength();
        var r = CliRunner.Run("generate", TestAssets.Path("stories260K/stories260K.bin"), "--prompt", "", "--temperature", "0",
            "--max-tokens", steps.ToString(), "--threads", "1");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(expected.GetProperty("generated_text").GetString() + "\n", r.Stdout);
        Assert.Contains("tokens/s", r.Stderr);
        Assert.Contains("load", r.Stderr);
    }

    [Theory]
    [InlineData("stories260K-f32.gguf")]
    public void Gguf_prints_llama_cpp_greedy_text(string file)
    {
        var reference = Json.Load("stories260K-gguf/llamacpp-reference.json").GetProperty("files").GetProperty(file);
        string expected = Encoding.UTF8.GetString(Convert.FromHexString(reference.GetProperty("greedy_text_utf8_hex").GetString()!));
        int n = reference.GetProperty("greedy_ids").GetArrayLength();
        var r = CliRunner.Run("generate", TestAssets.Path("stories260K-gguf/" + file), "--prompt", reference.GetProperty("prompt").GetString()!,
            "--temperature", "0", "-n", n.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(expected + "\n", r.Stdout);
    }

    [Fact]
    public void The_same_seed_gives_the_same_text_and_temperature_sampling_differs_from_greedy()
    {
        string model = TestAssets.Path("stories260K/stories260K.bin");
        string[] Args(string seed) => ["generate", model, "--prompt", "Lily", "-n", "40", "--temperature", "1", "--seed", seed, "--top-k", "0", "--min-p", "0"];
        var a = CliRunner.Run(Args("11"));
        var b = CliRunner.Run(Args("11"));
        var c = CliRunner.Run(Args("12"));
        Assert.Equal(0, a.ExitCode);
        Assert.Equal(a.Stdout, b.Stdout);
        Assert.NotEqual(a.Stdout, c.Stdout);
        Assert.Contains("seed 11", a.Stderr);
    }

    [Fact]
    public void Generation_stops_at_end_of_sequence()
    {
        // The greedy story from BOS ends with the model choosing EOS/BOS well before 512 tokens.
        var r = CliRunner.Run("generate", TestAssets.Path("stories260K/stories260K.bin"), "--prompt", "", "--temperature", "0");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("stopped: end of sequence", r.Stderr);
    }

    [Fact]
    public void A_prompt_longer_than_the_context_is_a_clear_error()
    {
        string prompt = string.Concat(Enumerable.Repeat("Once upon a time there was a girl. ", 40));
        var r = CliRunner.Run("generate", TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"), "--prompt", prompt, "-n", "5");
        Assert.Equal(1, r.ExitCode);
        Assert.Matches(@"\ncria: the prompt is \d+ tokens but the context has room for 128 \(the model's whole context is 128 tokens\)\n$", r.Stderr);
    }

    [Theory]
    [InlineData("--temperature", "-1", "temperature")]
    [InlineData("--top-p", "2", "top-p")]
    [InlineData("--threads", "-3", "threads")]
    [InlineData("--max-tokens", "-5", "max-tokens")]
    [InlineData("--top-k", "abc", "abc")]
    public void Bad_options_are_one_line_errors(string option, string value, string fragment)
    {
        var r = CliRunner.Run("generate", TestAssets.Path("stories260K/stories260K.bin"), "--prompt", "x", option, value);
        Assert.NotEqual(0, r.ExitCode);
        Assert.StartsWith("cria: ", r.Stderr);
        Assert.Contains(fragment, r.Stderr);
        Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void A_llama2c_checkpoint_without_a_tokenizer_beside_it_says_how_to_give_one()
    {
        string folder = Path.Combine(Path.GetTempPath(), $"cria-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            string model = Path.Combine(folder, "model.bin");
            File.Copy(TestAssets.Path("stories260K/stories260K.bin"), model);
            var r = CliRunner.Run("generate", model, "--prompt", "x");
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("--tokenizer", r.Stderr);
            r = CliRunner.Run("generate", model, "--prompt", "Once", "-n", "3", "--tokenizer", TestAssets.Path("stories260K/tok512.bin"), "--temperature", "0");
            Assert.Equal(0, r.ExitCode);
            Assert.Equal(" upon a time\n", r.Stdout);
        }
        finally { Directory.Delete(folder, true); }
    }
}
