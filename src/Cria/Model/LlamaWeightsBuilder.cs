using Cria.Tensors;

namespace Cria.Model;

/// <summary>Picks a checkpoint's tensors (GGUF names) for the forward pass, checking every shape against the config.
/// Where the checkpoint's memory is private, matrices the forward pass multiplies are repacked in place into the layout
/// this machine's kernels read fastest.</summary>
public static class LlamaWeightsBuilder
{
    public static LlamaWeights Build(LlamaCheckpoint checkpoint)
    {
        var c = checkpoint.Config;
        WeightMatrix Matrix(string name, int rows, int cols, bool multiplied = true)
        {
            var t = checkpoint.Tensor(name);
            if (t.Dimensions.Length != 2 || t.Dimensions[0] != cols || t.Dimensions[1] != rows)
                throw new ModelFormatException($"{checkpoint.Description}: tensor '{t.SourceName}' has shape {Shape(t)}, expected {rows} x {cols}");
            return multiplied && checkpoint.PrivateWeights ? WeightMatrix.RepackInPlace(t) : new WeightMatrix(t);
        }
        float[] Vector(string name, int length)
        {
            var t = checkpoint.Tensor(name);
            if (t.ElementCount != length || t.Dimensions[0] != length)
                throw new ModelFormatException($"{checkpoint.Description}: tensor '{t.SourceName}' has shape {Shape(t)}, expected {length}");
            return t.ToFloats();
        }

        // An embedding is only looked up row by row, unless it is also the output projection.
        var embedding = Matrix("token_embd.weight", c.VocabSize, c.Dim, multiplied: c.TiedOutput);
        var layers = new LayerWeights[c.LayerCount];
        for (int i = 0; i < layers.Length; i++)
        {
            string b = $"blk.{i}.";
            layers[i] = new LayerWeights
            {
                AttentionNorm = Vector(b + "attn_norm.weight", c.Dim),
                Query = Matrix(b + "attn_q.weight", c.QueryDim, c.Dim),
                Key = Matrix(b + "attn_k.weight", c.KvDim, c.Dim),
                Value = Matrix(b + "attn_v.weight", c.KvDim, c.Dim),
                Output = Matrix(b + "attn_output.weight", c.Dim, c.QueryDim),
                FeedForwardNorm = Vector(b + "ffn_norm.weight", c.Dim),
                Gate = Matrix(b + "ffn_gate.weight", c.HiddenDim, c.Dim),
                Down = Matrix(b + "ffn_down.weight", c.Dim, c.HiddenDim),
                Up = Matrix(b + "ffn_up.weight", c.HiddenDim, c.Dim),
            };
        }
        return new LlamaWeights
        {
            TokenEmbedding = embedding,
            Layers = layers,
            OutputNorm = Vector("output_norm.weight", c.Dim),
            Output = c.TiedOutput ? embedding : Matrix("output.weight", c.VocabSize, c.Dim),
            RopeFrequencyFactors = checkpoint.TryGetTensor("rope_freqs.weight", out _) ? Vector("rope_freqs.weight", c.RopeDim / 2) : null,
        };
    }

    // Rows x columns, outermost first (as PyTorch prints it), whatever order the file stores.
    private static string Shape(TensorData t) => string.Join(" x ", t.Dimensions.Reverse());
}
