namespace Cria.Tokenization.Chat;

/// <summary>Llama 2 chat exactly as Meta's <c>chat_completion</c> builds it: each user/assistant pair is
/// <c>&lt;s&gt;[INST] {user} [/INST] {answer} &lt;/s&gt;</c>, the last user message <c>&lt;s&gt;[INST] {user} [/INST]</c>,
/// and a system prompt is folded into the first user message between <c>&lt;&lt;SYS&gt;&gt;</c> markers.</summary>
public sealed class Llama2ChatFormat(Tokenizer tokenizer) : ChatFormat(tokenizer)
{
    private const string BeginInstruction = "[INST]", EndInstruction = "[/INST]";
    private const string BeginSystem = "<<SYS>>\n", EndSystem = "\n<</SYS>>\n\n";

    public override string Name => "llama2";

    public override IReadOnlyList<int> StopTokens => [Tokenizer.EosId];

    public override int[] EncodeDialog(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true)
    {
        CheckAlternation(messages, Name);
        var dialog = messages.ToList();
        if (dialog[0].Role == "system")
        {
            if (dialog.Count < 2) throw new CriaException("llama2 chat: a system message must be followed by a user message");
            dialog = [new ChatMessage(dialog[1].Role, BeginSystem + dialog[0].Content + EndSystem + dialog[1].Content), .. dialog.Skip(2)];
        }
        for (int i = 0; i < dialog.Count; i++)
        {
            string expected = i % 2 == 0 ? "user" : "assistant";
            if (dialog[i].Role != expected)
                throw new CriaException($"llama2 chat: message {i + 1} is '{dialog[i].Role}' but Llama 2 dialogs alternate user/assistant (optionally after one system message)");
        }
        var ids = new List<int>();
        for (int i = 0; i + 1 < dialog.Count; i += 2)
            ids.AddRange(Tokenizer.Encode($"{BeginInstruction} {dialog[i].Content.Trim()} {EndInstruction} {dialog[i + 1].Content.Trim()} ", addBos: true, addEos: true));
        // A trailing user message always ends with [/INST]: in Llama 2's format that is where the reply begins.
        if (dialog.Count % 2 == 1) ids.AddRange(EncodeUser(dialog[^1].Content));
        return [.. ids];
    }

    public override int[] EndOfReply() => [Tokenizer.EosId];

    public override int[] EncodeNextUserTurn(string content) => EncodeUser(content);

    private int[] EncodeUser(string content) => Tokenizer.Encode($"{BeginInstruction} {content.Trim()} {EndInstruction}", addBos: true, addEos: false);
}
