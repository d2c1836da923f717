namespace Cria.Tokenization.Chat;

/// <summary>One message of a dialog: a role ("system", "user", "assistant", or "ipython" for Llama 3.1 tool output)
/// and its text.</summary>
public sealed record ChatMessage(string Role, string Content)
{
    public static ChatMessage System(string content) => new("system", content);
    public static ChatMessage User(string content) => new("user", content);
    public static ChatMessage Assistant(string content) => new("assistant", content);
}
