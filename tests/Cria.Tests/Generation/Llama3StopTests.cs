using Cria.Conversion;
using Cria.Generation;
using Cria.Model;
using Cria.Tensors;
using Cria.Tests.Cli;
using Cria.Tests.Infrastructure;
using Cria.Tokenization;

namespace Cria.Tests.Generation;

/// <summary>A Llama 3 model must stop at &lt;|eot_id|&gt; (and &lt;|end_of_text|&gt;), or a chat runs on. The model here has
/// the real Llama 3 vocabulary and an output layer that makes one of those two tokens the arg-max whatever the input:
/// every row is zero except eot = +v and end_of_text = −v.</summary>
public class Llama3StopTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("cria-llama3-stop-").FullName;

    public void Dispose() => Directory.Delete(_folder, true);

    private string WriteModel()
    {
        var tokenizer = TokenizerLoader.FromFile(TestAssets.Path("llama3-tokenizer/hf/tokenizer.json"));
        var config = new LlamaConfig
        {
            Dim = 64, HiddenDim = 128, LayerCount = 1, HeadCount = 4, KvHeadCount = 1, VocabSize = tokenizer.VocabSize,
            ContextLength = 256, RopeTheta = 500000f,
        }.Validated("test");
        int eot = tokenizer.FindToken("<|eot_id|>"), endOfText = tokenizer.FindToken("<|end_of_text|>");
        var plans = RandomModel.Plan(config, GgmlType.F32, seed: 3)
            .Select(p => p.Name != "output.weight" ? p : p with
            {
                Rows = (row, destination) =>
                {
                    destination.Clear();
                    if (row == eot) destination.Fill(1f);
                    if (row == endOfText) destination.Fill(-1f);
                },
            }).ToList();
        string path = Path.Combine(_folder, "llama3-stop.gguf");
        GgufModelWriter.Write(path, config, tokenizer, [], plans, GgmlType.F32);
        return path;
    }

    [Fact]
    public void Generate_and_chat_stop_at_the_first_end_of_turn_token()
    {
        string model = WriteModel();
        var r = CliRunner.Run("generate", model, "--prompt", "Hello", "--temperature", "0", "-n", "50");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("\n", r.Stdout);
        Assert.Contains("generated 0 tokens", r.Stderr);
        Assert.Contains("stopped: end of sequence", r.Stderr);

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Cria.Cli.Program.Run(["chat", model, "--temperature", "0", "-n", "50"], new StringReader("Hi\nAgain\n"), stdout, stderr, interactive: false);
        Assert.Equal(0, code);
        Assert.Contains("chat format llama3", stderr.ToString());
        Assert.Contains("2 turns, 0 tokens generated", stderr.ToString());
    }

    [Fact]
    public void The_stop_tokens_are_eot_end_of_text_and_eom()
    {
        using var model = LlamaModel.Load(WriteModel());
        var ids = model.Tokenizer!.EndOfGenerationIds.Order().ToArray();
        Assert.Contains(128009, ids);
        Assert.Contains(128001, ids);
        var format = Cria.Tokenization.Chat.ChatFormats.Detect(model.Tokenizer);
        Assert.Contains(128009, format.StopTokens);
    }
}
