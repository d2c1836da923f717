namespace Cria.Formats.HuggingFace;

/// <summary>The two row orders of <c>q_proj</c>/<c>k_proj</c> (and <c>wq</c>/<c>wk</c>): Meta's and GGUF's adjacent
/// pairs (RoPE rotates rows 2i and 2i+1 of each head together) and Hugging Face's halves (rows i and i + d/2), into
/// which transformers' <c>convert_llama_weights_to_hf.py</c> <c>permute</c> moves them and out of which llama.cpp's
/// <c>convert_hf_to_gguf.py</c> <c>permute</c> moves them back. Row h·d + 2i + j in pair order is row h·d + j·d/2 + i
/// in halves order (h the head, d the head dimension, i &lt; d/2, j ∈ {0, 1}).</summary>
public static class QueryKeyRowOrder
{
    /// <summary>The adjacent-pair-order row that halves order puts at <paramref name="halvesRow"/>.</summary>
    public static int PairsRowOfHalvesRow(int halvesRow, int headDim)
    {
        CheckHeadDim(headDim);
        int head = halvesRow / headDim, k = halvesRow % headDim, half = headDim / 2;
        return head * headDim + 2 * (k % half) + k / half;
    }

    /// <summary>The halves-order row that holds adjacent-pair-order row <paramref name="pairsRow"/>.</summary>
    public static int HalvesRowOfPairsRow(int pairsRow, int headDim)
    {
        CheckHeadDim(headDim);
        int head = pairsRow / headDim, k = pairsRow % headDim, half = headDim / 2;
        return head * headDim + (k % 2) * half + k / 2;
    }

    private static void CheckHeadDim(int headDim)
    {
        if (headDim <= 0 || headDim % 2 != 0) throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "the head dimension must be positive and even");
    }
}
