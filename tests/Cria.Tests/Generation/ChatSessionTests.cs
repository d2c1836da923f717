using Cria.Generation;
using Cria.Model;
using Cria.Tests.Infrastructure;
using Cria.Tokenization.Chat;

namespace Cria.Tests.Generation;

public class ChatSessionTests
{
    private static LlamaModel Model() => LlamaModel.Load(TestAssets.Path("stories260K/stories260K.bin"));

    [Fact]
    public void Later_turns_process_only_the_new_tokens()
    {
        using var model = Model();
        using var context = new LlamaContext(model);
        var format = new Llama2ChatFormat(model.Tokenizer!);
        var session = new ChatSession(context, model.Tokenizer!, format, new Sampler(SamplerOptions.Greedy, 512), "You tell stories.");
        var first = session.Send("Once upon a time", null, maxTokens: 10);
        Assert.Equal(format.EncodeDialog([ChatMessage.System("You tell stories."), ChatMessage.User("Once upon a time")]).Length, first.PromptTokens);
        int afterFirst = context.Position;
        var second = session.Send("Tell me more", null, maxTokens: 10);
        Assert.Equal(format.EndOfReply().Length + format.EncodeNextUserTurn("Tell me more").Length, second.PromptTokens);
        Assert.Equal(afterFirst + second.PromptTokens + second.GeneratedTokens - 1, context.Position);
        Assert.Equal(5, session.History.Count); // system, user, assistant, user, assistant
    }

    [Fact]
    public void A_full_context_drops_the_oldest_turns_but_keeps_the_system_prompt()
    {
        using var model = Model();
        using var context = new LlamaContext(model, new ContextOptions { ContextLength = 96 });
        var session = new ChatSession(context, model.Tokenizer!, new Llama2ChatFormat(model.Tokenizer!), new Sampler(SamplerOptions.Greedy, 512), "Be kind.")
        {
            ReplyReserve = 20,
        };
        int dropped = 0;
        session.HistoryTruncated += n => dropped += n;
        for (int i = 0; i < 8; i++) session.Send($"Tell me about the cat number {i}", null, maxTokens: 12);
        Assert.True(dropped > 0);
        Assert.Equal("system", session.History[0].Role);
        Assert.Equal("Be kind.", session.History[0].Content);
        Assert.Contains("number 7", session.History[^2].Content);
        Assert.True(context.Position <= context.ContextLength);
    }

    [Fact]
    public void Reset_forgets_the_dialog_but_not_the_system_prompt()
    {
        using var model = Model();
        using var context = new LlamaContext(model);
        var session = new ChatSession(context, model.Tokenizer!, new Llama2ChatFormat(model.Tokenizer!), new Sampler(SamplerOptions.Greedy, 512), "Sys.");
        var a = session.Send("Hello", null, maxTokens: 8);
        session.Reset();
        Assert.Single(session.History);
        Assert.Equal(0, context.Position);
        var b = session.Send("Hello", null, maxTokens: 8);
        Assert.Equal(a.Tokens, b.Tokens); // greedy: the same first turn again
    }
}
