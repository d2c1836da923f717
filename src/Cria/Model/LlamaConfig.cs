namespace Cria.Model;

/// <summary>The hyper-parameters of a Llama model, whatever file they came from.</summary>
public sealed record LlamaConfig
{
    /// <summary>Embedding width (GGUF <c>llama.embedding_length</c>, Meta <c>dim</c>).</summary>
    public required int Dim { get; init; }
    /// <summary>SwiGLU hidden width (<c>llama.feed_forward_length</c>).</summary>
    public required int HiddenDim { get; init; }
    public required int LayerCount { get; init; }
    public required int HeadCount { get; init; }
    /// <summary>Key/value heads (GQA); equal to <see cref="HeadCount"/> for multi-head attention.</summary>
    public required int KvHeadCount { get; init; }
    public required int VocabSize { get; init; }
    /// <summary>The context length the model was trained for.</summary>
    public required int ContextLength { get; init; }
    public float RmsEps { get; init; } = 1e-5f;
    public float RopeTheta { get; init; } = 10000f;
    /// <summary>Width of each head (<c>llama.attention.key_length</c>; default Dim / HeadCount).</summary>
    public int HeadDim { get; init; }
    /// <summary>How many leading elements of each head RoPE rotates (<c>llama.rope.dimension_count</c>; default HeadDim).</summary>
    public int RopeDim { get; init; }
    public RopeStyle RopeStyle { get; init; } = RopeStyle.AdjacentPairs;
    public RopeScaling RopeScaling { get; init; } = RopeScaling.None;
    /// <summary>True when the output projection is the token embedding (no separate output weight).</summary>
    public bool TiedOutput { get; init; }

    public int QueryDim => HeadCount * HeadDim;
    public int KvDim => KvHeadCount * HeadDim;

    /// <summary>Fills defaults and checks the numbers fit together; throws naming <paramref name="source"/> if not.</summary>
    public LlamaConfig Validated(string source)
    {
        var c = this;
        if (c.HeadCount > 0 && c.HeadDim == 0) c = c with { HeadDim = c.Dim / c.HeadCount };
        if (c.RopeDim == 0) c = c with { RopeDim = c.HeadDim };
        void Check(bool ok, string what)
        {
            if (!ok) throw new ModelFormatException($"{source}: {what}");
        }
        Check(c.Dim > 0 && c.Dim <= 1 << 20, $"embedding length {c.Dim} is not valid");
        Check(c.HiddenDim > 0 && c.HiddenDim <= 1 << 22, $"feed-forward length {c.HiddenDim} is not valid");
        Check(c.LayerCount > 0 && c.LayerCount <= 4096, $"block count {c.LayerCount} is not valid");
        Check(c.HeadCount > 0 && c.HeadCount <= 4096, $"head count {c.HeadCount} is not valid");
        Check(c.KvHeadCount > 0 && c.KvHeadCount <= c.HeadCount, $"KV head count {c.KvHeadCount} must be between 1 and the head count {c.HeadCount}");
        Check(c.HeadCount % c.KvHeadCount == 0, $"head count {c.HeadCount} is not a multiple of the KV head count {c.KvHeadCount}");
        Check(c.HeadDim > 0 && c.HeadDim <= 1 << 14, $"head dimension {c.HeadDim} is not valid");
        Check(c.RopeDim > 0 && c.RopeDim <= c.HeadDim && c.RopeDim % 2 == 0, $"RoPE dimension count {c.RopeDim} must be even and at most the head dimension {c.HeadDim}");
        Check(c.VocabSize > 0 && c.VocabSize <= 1 << 24, $"vocabulary size {c.VocabSize} is not valid");
        Check(c.ContextLength > 0, $"context length {c.ContextLength} is not valid");
        Check(c.RmsEps > 0 && float.IsFinite(c.RmsEps), $"RMS epsilon {c.RmsEps} is not valid");
        Check(c.RopeTheta > 0 && float.IsFinite(c.RopeTheta), $"RoPE base {c.RopeTheta} is not valid");
        Check(c.RopeScaling.Factor > 0 && double.IsFinite(c.RopeScaling.Factor), $"RoPE scaling factor {c.RopeScaling.Factor} is not valid");
        return c;
    }
}
