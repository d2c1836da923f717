using Cria.Tests.Infrastructure;

namespace Cria.Tests.Cli;

public class TokenizeAndChatCommandTests
{
    private static CliRunner.Result Run(string stdin, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Cria.Cli.Program.Run(args, new StringReader(stdin), stdout, stderr, interactive: false);
        return new CliRunner.Result(code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Tokenize_prints_ids_for_a_model_or_a_tokenizer_file()
    {
        Assert.Equal("[1,403,407,261,378]\n", Run("", "tokenize", TestAssets.Path("stories260K/stories260K.bin"), "--text", "Once upon a time").Stdout);
        Assert.Equal("[1,403,407,261,378]\n", Run("", "tokenize", TestAssets.Path("stories260K-gguf/stories260K-Q8_0.gguf"), "--text", "Once upon a time").Stdout);
        Assert.Equal("[403,407,261,378]\n", Run("Once upon a time", "tokenize", TestAssets.Path("stories260K/tok512.bin"), "--no-bos").Stdout);
        Assert.Equal("[{\"id\":1,\"piece\":\"<s>\"},{\"id\":15043,\"piece\":\"▁Hello\"}]\n",
            Run("", "tokenize", TestAssets.Path("llamacpp-vocab/ggml-vocab-llama-spm.gguf"), "--text", "Hello", "--pieces").Stdout);
    }

    [Fact]
    public void Tokenize_jsonl_gives_one_array_per_line_and_names_a_bad_line()
    {
        // sentencepiece gives [15043, 3186] and [4370] ("▁été" is one piece).
        var r = Run("\"Hello world\"\n\"\\u00e9t\\u00e9\"\n", "tokenize", TestAssets.Path("llama2-tokenizer/tokenizer.bin"), "--jsonl");
        Assert.Equal("[1,15043,3186]\n[1,4370]\n", r.Stdout);
        r = Run("\"ok\"\nnot json\n", "tokenize", TestAssets.Path("llama2-tokenizer/tokenizer.bin"), "--jsonl");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("stdin line 2 is not a JSON string", r.Stderr);
    }

    [Fact]
    public void Tokenize_chat_prints_the_dialog_in_the_models_format()
    {
        string file = Path.Combine(Path.GetTempPath(), $"cria-chat-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]""");
        try
        {
            var r = Run("", "tokenize", TestAssets.Path("llamacpp-vocab/ggml-vocab-llama-spm.gguf"), "--chat", file);
            Assert.Equal(0, r.ExitCode);
            Assert.Equal("[1,518,25580,29962,3532,14816,29903,6778,13,3629,11473,29889,13,29966,829,14816,29903,6778,13,13,18567,518,29914,25580,29962]\n", r.Stdout);
            File.WriteAllText(file, """[{"role":"user"}]""");
            r = Run("", "tokenize", TestAssets.Path("llamacpp-vocab/ggml-vocab-llama-spm.gguf"), "--chat", file);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("message 1 needs string \"role\" and \"content\"", r.Stderr);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void Chat_reads_one_turn_per_line_with_reset_and_exit()
    {
        var r = Run("Hello\nTell me a story\n/reset\nHello\n/exit\nignored\n", "chat", TestAssets.Path("stories260K/stories260K.bin"),
            "--system", "You tell stories.", "-n", "12", "--temperature", "0");
        Assert.Equal(0, r.ExitCode);
        var replies = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, replies.Length);
        Assert.Equal(replies[0], replies[2]); // after /reset the same first turn gives the same greedy reply
        Assert.Contains("chat format llama2", r.Stderr);
        Assert.Contains("the dialog is reset", r.Stderr);
        Assert.Contains("3 turns", r.Stderr);
    }

    [Fact]
    public void Chat_says_when_it_drops_old_turns()
    {
        string input = string.Concat(Enumerable.Range(0, 10).Select(i => $"Tell me about the dog number {i}\n"));
        var r = Run(input, "chat", TestAssets.Path("stories260K/stories260K.bin"), "--system", "Be kind.", "-n", "16", "--temperature", "0", "--ctx-size", "128");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("the context is full: dropped the", r.Stderr);
        Assert.Contains("the system prompt is kept", r.Stderr);
    }
}
