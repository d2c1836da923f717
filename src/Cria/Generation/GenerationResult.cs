namespace Cria.Generation;

/// <summary>Why generation ended.</summary>
public enum StopReason
{
    /// <summary>The model produced an end-of-generation token.</summary>
    EndOfSequence,
    /// <summary>The requested number of tokens was generated.</summary>
    MaxTokens,
    /// <summary>The KV cache is full.</summary>
    ContextFull,
    Cancelled,
}

/// <summary>What a generation run did and how fast: prompt tokens/s counts the prompt's forward pass, generation
/// tokens/s counts sampling plus the forward pass of each generated token.</summary>
public sealed record GenerationResult(
    IReadOnlyList<int> Tokens,
    int PromptTokens,
    TimeSpan PromptTime,
    TimeSpan GenerationTime,
    StopReason StopReason)
{
    public int GeneratedTokens => Tokens.Count;
    public double PromptTokensPerSecond => PromptTokens / Math.Max(PromptTime.TotalSeconds, 1e-9);
    public double GenerationTokensPerSecond => GeneratedTokens / Math.Max(GenerationTime.TotalSeconds, 1e-9);
}
