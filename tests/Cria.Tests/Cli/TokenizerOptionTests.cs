using Cria.Tests.Infrastructure;

namespace Cria.Tests.Cli;

/// <summary><c>cria generate --tokenizer</c> takes the tokenizer in any of its layouts: llama2.c's tok512.bin, the
/// sentencepiece tok512.model, or a model folder holding tokenizer.model (Meta's and Hugging Face's layouts).</summary>
public class TokenizerOptionTests
{
    [Theory]
    [InlineData("stories260K/tok512.model")]
    [InlineData("stories260K-meta")]
    [InlineData("stories260K-hf")]
    public void Every_tokenizer_layout_gives_the_tokenizer_bin_greedy_text(string tokenizer)
    {
        string model = TestAssets.Path("stories260K/stories260K.bin");
        string[] args = ["generate", model, "--prompt", "Once upon a time", "-n", "24", "--temperature", "0", "--threads", "1"];
        var expected = CliRunner.Run([.. args, "--tokenizer", TestAssets.Path("stories260K/tok512.bin")]);
        var actual = CliRunner.Run([.. args, "--tokenizer", TestAssets.Path(tokenizer)]);
        Assert.Equal(0, actual.ExitCode);
        Assert.StartsWith(", there was a little girl", expected.Stdout);
        Assert.Equal(expected.Stdout, actual.Stdout);
    }

    [Fact]
    public void A_tokenizer_of_the_wrong_size_is_a_one_line_error()
    {
        var r = CliRunner.Run("generate", TestAssets.Path("stories260K/stories260K.bin"), "--prompt", "x",
            "--tokenizer", TestAssets.Path("llama2-tokenizer/tokenizer.model"));
        Assert.Equal(1, r.ExitCode);
        Assert.Matches(@"^cria: .*tokenizer\.model: has 32000 pieces but the model's vocabulary size is 512\n$", r.Stderr);
    }
}
