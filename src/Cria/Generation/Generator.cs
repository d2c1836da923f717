using System.Diagnostics;
using Cria.Model;
using Cria.Tokenization;

namespace Cria.Generation;

/// <summary>The generation loop: the prompt goes through the model as one batch, then each sampled token is fed
/// back, and its text is streamed as complete UTF-8 characters. Stops at an end-of-generation token, at the token
/// limit or when the context is full.</summary>
public sealed class Generator
{
    private readonly LlamaContext _context;
    private readonly Tokenizer _tokenizer;
    private readonly Sampler _sampler;
    private readonly Utf8StreamDecoder _utf8 = new();

    /// <summary>Tokens that end generation besides the tokenizer's own end-of-generation ids (e.g. a chat format's).</summary>
    public IReadOnlyList<int> StopTokens { get; init; } = [];

    /// <summary>Drop the space SentencePiece puts before the first generated word (a chat reply starts a new text).</summary>
    public bool TrimLeadingSpace { get; init; }

    public Generator(LlamaContext context, Tokenizer tokenizer, Sampler sampler)
    {
        _context = context;
        _tokenizer = tokenizer;
        _sampler = sampler;
    }

    /// <summary>Generates after <paramref name="prompt"/> (appended to what the context holds).</summary>
    /// <param name="maxTokens">Most tokens to generate; negative = until end of sequence or a full context.</param>
    /// <param name="output">Receives the generated text as it is produced (not the prompt).</param>
    /// <param name="onToken">Called with each generated token id.</param>
    public GenerationResult Generate(IReadOnlyList<int> prompt, int maxTokens, TextWriter? output, Action<int>? onToken = null,
        CancellationToken cancellation = default)
    {
        if (prompt.Count == 0) throw new CriaException("the prompt is empty: nothing to generate from (give some text or let the tokenizer add BOS)");
        int room = _context.ContextLength - _context.Position;
        if (prompt.Count > room)
            throw new CriaException($"the prompt is {prompt.Count} tokens but the context has room for {room} " +
                                    (_context.ContextLength < _context.Model.Config.ContextLength
                                        ? $"(context length {_context.ContextLength}; the model allows up to {_context.Model.Config.ContextLength})"
                                        : $"(the model's whole context is {_context.ContextLength} tokens)"));

        var promptIds = prompt as int[] ?? prompt.ToArray();
        foreach (int id in promptIds) _sampler.Accept(id);
        // Decoding a whole sequence drops the space SentencePiece puts before its first word; after a bare BOS the
        // generated text is that sequence, so do the same (as llama2.c's run.c does).
        bool dropLeadingSpace = _tokenizer.StripsLeadingSpace && (TrimLeadingSpace || promptIds.All(id => _tokenizer.GetTokenType(id) == TokenType.Control));

        var clock = Stopwatch.StartNew();
        var logits = _context.Process(promptIds);
        var promptTime = clock.Elapsed;
        clock.Restart();

        var tokens = new List<int>(maxTokens > 0 ? Math.Min(maxTokens, 4096) : 256);
        var stop = StopReason.MaxTokens;
        _utf8.Reset();
        while (maxTokens < 0 || tokens.Count < maxTokens)
        {
            if (cancellation.IsCancellationRequested) { stop = StopReason.Cancelled; break; }
            int token = _sampler.Sample(logits);
            if (_tokenizer.IsEndOfGeneration(token) || IsStopToken(token)) { stop = StopReason.EndOfSequence; break; }
            tokens.Add(token);
            _sampler.Accept(token);
            onToken?.Invoke(token);
            if (output != null)
            {
                var bytes = _tokenizer.DecodeBytes(token);
                if (dropLeadingSpace && tokens.Count == 1 && !bytes.IsEmpty && bytes[0] == (byte)' ') bytes = bytes[1..];
                _utf8.Write(bytes, output);
                output.Flush();
            }
            if (maxTokens >= 0 && tokens.Count == maxTokens) break;
            if (_context.Position >= _context.ContextLength) { stop = StopReason.ContextFull; break; }
            logits = _context.Process([token]);
        }
        if (output != null)
        {
            _utf8.Flush(output);
            output.Flush();
        }
        return new GenerationResult(tokens, promptIds.Length, promptTime, clock.Elapsed, stop);
    }

    private bool IsStopToken(int token)
    {
        for (int i = 0; i < StopTokens.Count; i++) if (StopTokens[i] == token) return true;
        return false;
    }
}
