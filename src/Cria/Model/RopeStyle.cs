namespace Cria.Model;

/// <summary>Which elements of a head RoPE rotates together.</summary>
public enum RopeStyle
{
    /// <summary>Adjacent pairs (2i, 2i+1): Meta's checkpoints, llama2.c and GGUF (llama.cpp's "normal" rope).</summary>
    AdjacentPairs,
    /// <summary>Halves (i, i + d/2): Hugging Face's rotate_half on un-permuted q/k weights (GPT-NeoX style).</summary>
    Halves,
}
