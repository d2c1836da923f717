using Cria.Tensors;

namespace Cria.Tests.Formats.HuggingFace;

/// <summary>The test's own statement of HF's q/k row order, from the fixture's PROVENANCE.md: to go back to Meta / GGUF
/// order, <c>w.view(n_heads, 2, head_dim // 2, dim).transpose(1, 2).reshape(...)</c>; i.e. Meta row h·d + 2i + j is
/// HF row h·d + j·d/2 + i.</summary>
internal static class HfPermutation
{
    /// <summary>For each Meta-order row, the HF-order row holding it.</summary>
    public static int[] HfRowOfMetaRow(int heads, int headDim)
    {
        var map = new int[heads * headDim];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < headDim / 2; i++)
                for (int j = 0; j < 2; j++)
                    map[h * headDim + 2 * i + j] = h * headDim + j * (headDim / 2) + i;
        return map;
    }

    /// <summary>Row <paramref name="row"/>'s stored bytes.</summary>
    public static byte[] RowBytes(TensorData t, int row)
    {
        var bytes = new byte[t.RowBytes];
        t.ReadRow(row, bytes);
        return bytes;
    }

    public static float[] RowFloats(TensorData t, int row)
    {
        var values = new float[t.Cols];
        t.DequantizeRow(row, values);
        return values;
    }

    /// <summary>How many heads a GGUF-named tensor's rows are permuted over (0 for tensors HF does not permute).</summary>
    public static int PermutedHeads(string ggufName, Cria.Model.LlamaConfig c) =>
        ggufName.EndsWith(".attn_q.weight", StringComparison.Ordinal) ? c.HeadCount
        : ggufName.EndsWith(".attn_k.weight", StringComparison.Ordinal) ? c.KvHeadCount : 0;

    /// <summary>The row of <paramref name="hf"/> that holds Meta-order row <paramref name="row"/> of tensor <paramref name="ggufName"/>.</summary>
    public static int HfRow(string ggufName, int row, Cria.Model.LlamaConfig c)
    {
        int heads = PermutedHeads(ggufName, c);
        return heads == 0 ? row : HfRowOfMetaRow(heads, c.HeadDim)[row];
    }
}
