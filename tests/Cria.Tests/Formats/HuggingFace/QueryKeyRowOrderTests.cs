using Cria.Formats.HuggingFace;

namespace Cria.Tests.Formats.HuggingFace;

/// <summary>The two row-order maps are inverse permutations and agree with the fixture's statement of HF's order.</summary>
public class QueryKeyRowOrderTests
{
    [Theory]
    [InlineData(8, 8)]
    [InlineData(4, 8)]
    [InlineData(2, 128)]
    [InlineData(3, 2)]
    public void The_maps_are_inverse_permutations_matching_transformers_permute(int heads, int headDim)
    {
        int[] independent = HfPermutation.HfRowOfMetaRow(heads, headDim);
        var seen = new bool[heads * headDim];
        for (int pairs = 0; pairs < heads * headDim; pairs++)
        {
            int halves = QueryKeyRowOrder.HalvesRowOfPairsRow(pairs, headDim);
            Assert.Equal(independent[pairs], halves);
            Assert.Equal(pairs, QueryKeyRowOrder.PairsRowOfHalvesRow(halves, headDim));
            Assert.False(seen[halves]);
            seen[halves] = true;
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => QueryKeyRowOrder.PairsRowOfHalvesRow(0, 7));
    }
}
