namespace Cria.Model;

/// <summary>Settings of one inference context.</summary>
public sealed record ContextOptions
{
    /// <summary>Positions the KV cache holds; 0 = the model's trained context, capped at <see cref="DefaultMaxContext"/>.</summary>
    public int ContextLength { get; init; }

    /// <summary>Most tokens one forward pass processes as a matrix; longer prompts go through in batches this size.</summary>
    public int BatchSize { get; init; } = 512;

    /// <summary>Threads taking part in kernels (the caller included); 0 = one per processor.</summary>
    public int Threads { get; init; }

    /// <summary>Quantised weights multiply the activations quantised to 8-bit blocks, with integer dot products (as
    /// llama.cpp does: faster, and its numbers); false keeps float activations (slower, a little closer to the
    /// dequantised model). Float weights are unaffected.</summary>
    public bool QuantizeActivations { get; init; } = true;

    public const int DefaultMaxContext = 4096;
}
