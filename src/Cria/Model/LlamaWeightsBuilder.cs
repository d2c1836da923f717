using Cria.Tensors;
using Cria.Tensors.Interleaved;

namespace Cria.Model;

/// <summary>Picks a checkpoint's tensors (GGUF names) for the forward pass, checking every shape against the config.</summary>
public static class LlamaWeightsBuilder
{
    /// <summary>The weights as the checkpoint stores them.</summary>
    public static LlamaWeights Build(LlamaCheckpoint checkpoint) => Build(checkpoint, null);

    /// <summary>The weights for inference: with <paramref name="storage"/> (which the model then owns), the matrices
    /// this machine multiplies faster in an interleaved layout are repacked into memory of their own
    /// (<see cref="InterleavedLoader"/>), where the checkpoint is a single mapped file.</summary>
    public static LlamaWeights Build(LlamaCheckpoint checkpoint, List<IDisposable>? storage)
    {
        var c = checkpoint.Config;
        WeightMatrix Matrix(string name, int rows, int cols)
        {
            var t = checkpoint.Tensor(name);
            if (t.Dimensions.Length != 2 || t.Dimensions[0] != cols || t.Dimensions[1] != rows)
                throw new ModelFormatException($"{checkpoint.Description}: tensor '{t.SourceName}' has shape {Shape(t)}, expected {rows} x {cols}");
            return new WeightMatrix(t);
        }
        float[] Vector(string name, int length)
        {
            var t = checkpoint.Tensor(name);
            if (t.ElementCount != length || t.Dimensions[0] != length)
                throw new ModelFormatException($"{checkpoint.Description}: tensor '{t.SourceName}' has shape {Shape(t)}, expected {length}");
            return t.ToFloats();
        }

        var embedding = Matrix("token_embd.weight", c.VocabSize, c.Dim);
        var output = c.TiedOutput ? embedding : Matrix("output.weight", c.VocabSize, c.Dim);
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
        var weights = new LlamaWeights
        {
            TokenEmbedding = embedding,
            Layers = layers,
            OutputNorm = Vector("output_norm.weight", c.Dim),
            Output = output,
            RopeFrequencyFactors = checkpoint.TryGetTensor("rope_freqs.weight", out _) ? Vector("rope_freqs.weight", c.RopeDim / 2) : null,
        };
        if (storage == null || checkpoint.Mapping == null || !InterleavedLoader.Enabled) return weights;
        // Every matrix a token multiplies; an embedding that is not also the output is only looked up row by row.
        var multiplied = layers.SelectMany(l => new[] { l.Query, l.Key, l.Value, l.Output, l.Gate, l.Down, l.Up }).Append(output);
        var repacked = InterleavedLoader.Repack(checkpoint.Mapping, multiplied, storage);
        WeightMatrix R(WeightMatrix m) => repacked.TryGetValue(m, out var r) ? r : m;
        return new LlamaWeights
        {
            TokenEmbedding = R(embedding),
            Layers = layers.Select(l => new LayerWeights
            {
                AttentionNorm = l.AttentionNorm, Query = R(l.Query), Key = R(l.Key), Value = R(l.Value), Output = R(l.Output),
                FeedForwardNorm = l.FeedForwardNorm, Gate = R(l.Gate), Down = R(l.Down), Up = R(l.Up),
            }).ToArray(),
            OutputNorm = weights.OutputNorm,
            Output = R(output),
            RopeFrequencyFactors = weights.RopeFrequencyFactors,
        };
    }

    // Rows x columns, outermost first (as PyTorch prints it), whatever order the file stores.
    private static string Shape(TensorData t) => string.Join(" x ", t.Dimensions.Reverse());
}
