namespace Cria.Tokenization.Chat;

/// <summary>How a chat model expects a dialog as tokens. Besides the whole dialog, a format gives the tokens a chat
/// session appends turn by turn, so the KV cache keeps the history and only new tokens are processed.</summary>
public abstract class ChatFormat
{
    protected ChatFormat(Tokenizer tokenizer) => Tokenizer = tokenizer;

    public Tokenizer Tokenizer { get; }

    /// <summary>A short name, e.g. "llama2", "llama3", "llama3.1".</summary>
    public abstract string Name { get; }

    /// <summary>The whole dialog; with <paramref name="addGenerationPrompt"/>, ending where the assistant's reply begins.</summary>
    public abstract int[] EncodeDialog(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true);

    /// <summary>Tokens that close an assistant reply the model produced (its end-of-turn token, which generation sampled
    /// but did not feed back).</summary>
    public abstract int[] EndOfReply();

    /// <summary>Tokens of a new user message after a closed reply, ending where the next reply begins.</summary>
    public abstract int[] EncodeNextUserTurn(string content);

    /// <summary>Tokens that end the assistant's turn (generation stops on each).</summary>
    public abstract IReadOnlyList<int> StopTokens { get; }

    protected static void CheckAlternation(IReadOnlyList<ChatMessage> messages, string format)
    {
        if (messages.Count == 0) throw new CriaException("the dialog is empty");
        foreach (var m in messages)
            if (m.Role is not ("system" or "user" or "assistant" or "ipython" or "tool"))
                throw new CriaException($"{format} chat: unknown role '{m.Role}' (system, user, assistant)");
    }

    /// <summary>The token whose text is <paramref name="text"/>; the format needs it.</summary>
    protected int Special(string text) =>
        Tokenizer.FindToken(text) is int id and >= 0 ? id : throw new CriaException($"the {Name} chat format needs the token {text}, which this vocabulary lacks");
}
