using Cria.Model;
using Cria.Tokenization;
using Cria.Tokenization.Chat;

namespace Cria.Generation;

/// <summary>A multi-turn chat over one context. The dialog stays in the KV cache: each turn processes only the new
/// user message (and the end of the previous reply). When the context would overflow, the oldest turns are dropped
/// (the system prompt is kept) and the rest is processed again once.</summary>
public sealed class ChatSession
{
    private readonly LlamaContext _context;
    private readonly Sampler _sampler;
    private readonly Generator _generator;
    private readonly List<ChatMessage> _history = [];
    private bool _replyOpen; // the last reply's end-of-turn token is not in the cache yet

    public ChatFormat Format { get; }
    public string? SystemPrompt { get; }
    public IReadOnlyList<ChatMessage> History => _history;

    /// <summary>Tokens kept free for the reply when deciding whether a new turn fits.</summary>
    public int ReplyReserve { get; init; } = 256;

    /// <summary>Told how many of the oldest messages were dropped to make room.</summary>
    public event Action<int>? HistoryTruncated;

    public ChatSession(LlamaContext context, Tokenizer tokenizer, ChatFormat format, Sampler sampler, string? systemPrompt = null)
    {
        _context = context;
        _sampler = sampler;
        Format = format;
        SystemPrompt = string.IsNullOrWhiteSpace(systemPrompt) ? null : systemPrompt;
        _generator = new Generator(context, tokenizer, sampler) { StopTokens = format.StopTokens, TrimLeadingSpace = true };
        Reset();
    }

    /// <summary>Forgets the dialog (keeps the system prompt).</summary>
    public void Reset()
    {
        _history.Clear();
        if (SystemPrompt != null) _history.Add(ChatMessage.System(SystemPrompt));
        _context.Reset();
        _sampler.ResetHistory();
        _replyOpen = false;
    }

    /// <summary>Sends a user message and streams the reply to <paramref name="output"/>.</summary>
    public GenerationResult Send(string userMessage, TextWriter? output, int maxTokens = -1, CancellationToken cancellation = default)
    {
        _history.Add(ChatMessage.User(userMessage));
        int[] turn = [.. (_replyOpen ? Format.EndOfReply() : []), .. (_context.Position == 0 ? Format.EncodeDialog(_history) : Format.EncodeNextUserTurn(userMessage))];
        int room = _context.ContextLength - _context.Position;
        int reserve = Math.Min(ReplyReserve, _context.ContextLength / 4);
        if (turn.Length + reserve > room) turn = Rebuild(reserve);

        var reply = new List<int>();
        var result = _generator.Generate(turn, maxTokens, output, reply.Add, cancellation);
        _history.Add(ChatMessage.Assistant(Format.Tokenizer.Decode(reply.ToArray())));
        _replyOpen = true;
        return result;
    }

    // Drops the oldest user/assistant pairs until the dialog fits with room for a reply, then starts the cache afresh.
    private int[] Rebuild(int reserve)
    {
        int first = SystemPrompt != null ? 1 : 0;
        int dropped = 0;
        int[] tokens = Format.EncodeDialog(_history);
        while (tokens.Length + reserve > _context.ContextLength && _history.Count - first > 1)
        {
            int remove = _history.Count - first >= 3 ? 2 : 1; // a user message and its reply
            _history.RemoveRange(first, remove);
            dropped += remove;
            tokens = Format.EncodeDialog(_history);
        }
        if (tokens.Length > _context.ContextLength)
            throw new CriaException($"the message is {tokens.Length} tokens with the system prompt, more than the context of {_context.ContextLength} holds");
        _context.Reset();
        _sampler.ResetHistory();
        if (dropped > 0) HistoryTruncated?.Invoke(dropped);
        return tokens;
    }
}
