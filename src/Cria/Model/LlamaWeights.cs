using Cria.Tensors;

namespace Cria.Model;

/// <summary>One transformer block's weights. Matrices are [out rows × in cols] in their stored type.</summary>
public sealed class LayerWeights
{
    public required float[] AttentionNorm { get; init; }   // [dim]
    public required WeightMatrix Query { get; init; }      // [heads·headDim × dim]
    public required WeightMatrix Key { get; init; }        // [kvHeads·headDim × dim]
    public required WeightMatrix Value { get; init; }      // [kvHeads·headDim × dim]
    public required WeightMatrix Output { get; init; }     // [dim × heads·headDim]
    public required float[] FeedForwardNorm { get; init; } // [dim]
    public required WeightMatrix Gate { get; init; }       // w1 [hidden × dim]
    public required WeightMatrix Down { get; init; }       // w2 [dim × hidden]
    public required WeightMatrix Up { get; init; }         // w3 [hidden × dim]
}

/// <summary>All weights of a Llama model; matrices stay in the file's memory map, norms are small float copies.</summary>
public sealed class LlamaWeights
{
    public required WeightMatrix TokenEmbedding { get; init; } // [vocab × dim]
    public required LayerWeights[] Layers { get; init; }
    public required float[] OutputNorm { get; init; }          // [dim]
    public required WeightMatrix Output { get; init; }         // [vocab × dim]; the embedding itself when tied
    /// <summary>Per-pair RoPE frequency divisors (GGUF <c>rope_freqs.weight</c>), if the file has them.</summary>
    public float[]? RopeFrequencyFactors { get; init; }
}
