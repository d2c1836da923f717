using Cria.Formats.Gguf;
using Cria.Model;
using Cria.Tensors;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Model;

/// <summary>Matrices held as several parts (as model-parallel shards are: split by rows or by columns) give the same
/// model as the contiguous tensors.</summary>
public unsafe class ShardedTensorTests
{
    [Theory]
    [InlineData("stories260K-gguf/stories260K-f32.gguf")]
    [InlineData("stories260K-gguf/stories260K-Q8_0.gguf")]
    public void Splitting_every_matrix_into_row_and_column_parts_keeps_the_logits(string file)
    {
        int[] ids = [1, 403, 407, 261, 378, 432];
        float[] Run(LlamaCheckpoint checkpoint)
        {
            using var model = new LlamaModel(checkpoint.Config, LlamaWeightsBuilder.Build(checkpoint), null, "test");
            using var context = new LlamaContext(model, new ContextOptions { QuantizeActivations = false }); // parts take the float path
            var logits = new float[ids.Length * checkpoint.Config.VocabSize];
            context.ProcessAll(ids, logits);
            return logits;
        }
        using var whole = GgufCheckpointReader.Open(TestAssets.Path(file));
        var split = new LlamaCheckpoint(whole.Format, whole.Naming, whole.Path, whole.Config, whole.Tensors.Select(Split).ToList(), null, null);
        Assert.Contains(split.Tensors, t => t.Parts.Count == 4);
        Llama2cForwardTests.AssertClose(Run(whole), Run(split), 1e-4f, file);

        var row = new float[whole.Config.Dim];
        var expectedRow = new float[whole.Config.Dim];
        split.Tensor("token_embd.weight").DequantizeRow(7, row);
        whole.Tensor("token_embd.weight").DequantizeRow(7, expectedRow);
        Assert.Equal(expectedRow, row);
    }

    // Four quadrants for a matrix whose halves fall on block boundaries; anything else stays whole.
    private static TensorData Split(TensorData t)
    {
        int block = t.TypeInfo.BlockElements;
        if (t.Dimensions.Length != 2 || t.Cols / 2 % block != 0 || t.Rows < 2) return t;
        int r = t.Rows / 2, c = t.Cols / 2;
        var p = t.Parts[0];
        long cOffset = t.TypeInfo.RowBytes(c);
        TensorPart Part(int row0, int rows, int col0, int cols) =>
            new(row0, rows, col0, cols, p.Data + row0 * p.RowStride + (col0 == 0 ? 0 : cOffset), p.RowStride);
        return new TensorData(t.Name, t.SourceName, t.Type, t.Dimensions,
            [Part(0, r, 0, c), Part(r, t.Rows - r, 0, c), Part(0, r, c, t.Cols - c), Part(r, t.Rows - r, c, t.Cols - c)]);
    }
}
