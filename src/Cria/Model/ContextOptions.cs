namespace Cria.Model;

/// <summary>Settings of one inference context.</summary>
public sealed record ContextOptions
{
    /// <summary>Positions the KV cache holds; 0 = the model's trained context, capped at <see cref="DefaultMaxContext"/>.</summary>
    public int ContextLength { get; init; }

    /// <summary>Most tokens one forward pass processes as a matrix; longer prompts go through in batches this size.</summary>
    public int BatchSize { get; init; } = DefaultBatchSize;

    /// <summary>Threads taking part in kernels (the caller included); 0 = one per processor.</summary>
    public int Threads { get; init; }

    /// <summary>How quantised weights meet the activations: null (default) takes per weight type and batch size
    /// whichever is faster here, the float kernels or the integer ones on activations quantised to 8-bit blocks;
    /// true always takes the integer ones (llama.cpp's numbers: its logits to float rounding); false never does
    /// (float activations: a little closer to the dequantised model). Float weights are unaffected.</summary>
    public bool? QuantizeActivations { get; init; }

    public const int DefaultMaxContext = 4096;

    /// <summary>256, not llama.cpp's 512: prompts go as fast (weights are re-read once per 256 tokens, a few percent
    /// of the arithmetic) and the batch buffers take half the memory (bench/RESULTS.md, "Memory").</summary>
    public const int DefaultBatchSize = 256;
}
