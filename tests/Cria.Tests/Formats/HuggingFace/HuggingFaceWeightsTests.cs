using Cria.Formats.HuggingFace;
using Cria.Formats.Llama2c;
using Cria.Formats.SafeTensors;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Formats.HuggingFace;

/// <summary>The HF fixtures hold stories260K.bin's weights: F32 bit for bit once q/k rows are put back in Meta order,
/// and BF16 as round-to-nearest-even of them (PyTorch made the fixture, so this checks Cria's rounding too).</summary>
public class HuggingFaceWeightsTests
{
    [Theory]
    [InlineData("stories260K-hf/f32")]
    [InlineData("stories260K-hf/sharded")]
    [InlineData("stories260K-hf")]
    public void Every_tensor_equals_stories260K_bin_after_unpermuting(string folder)
    {
        using var bin = Llama2cCheckpoint.Open(TestAssets.Path("stories260K/stories260K.bin"));
        using var hf = HuggingFaceCheckpointReader.Open(TestAssets.Path(folder), withTokenizer: false);
        bool bf16 = hf.Tensor("token_embd.weight").Type == Cria.Tensors.GgmlType.BF16;
        int compared = 0;
        foreach (var expected in bin.Tensors)
        {
            var actual = hf.Tensor(expected.Name);
            Assert.Equal(expected.Dimensions, actual.Dimensions);
            for (int row = 0; row < expected.Rows; row++)
            {
                var meta = HfPermutation.RowFloats(expected, row);
                var stored = HfPermutation.RowBytes(actual, HfPermutation.HfRow(expected.Name, row, bin.Config));
                byte[] want = bf16
                    ? meta.SelectMany(v => BitConverter.GetBytes(FloatRounding.ToBF16(v))).ToArray()
                    : meta.SelectMany(BitConverter.GetBytes).ToArray();
                Assert.True(want.AsSpan().SequenceEqual(stored), $"{folder}: '{actual.SourceName}' row {row} differs");
            }
            compared++;
        }
        Assert.Equal(47, compared);
        if (!hf.Config.TiedOutput) // the sharded variant's lm_head is a copy of the embedding
            for (int row = 0; row < 512; row++)
                Assert.Equal(HfPermutation.RowBytes(hf.Tensor("token_embd.weight"), row), HfPermutation.RowBytes(hf.Tensor("output.weight"), row));
    }
}
