using Cria.IO;
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
            return (checkpoint.Mapping is { } map && t.IsContiguous ? ReadFloats(map, t) : null) ?? t.ToFloats();
        }

        // Every matrix, checked, before any is repacked: (name, rows, cols) of the layers' projections, then the output.
        var shapes = new List<(string Name, int Rows, int Cols)>();
        for (int i = 0; i < c.LayerCount; i++)
        {
            string b = $"blk.{i}.";
            shapes.AddRange([(b + "attn_q.weight", c.QueryDim, c.Dim), (b + "attn_k.weight", c.KvDim, c.Dim), (b + "attn_v.weight", c.KvDim, c.Dim),
                (b + "attn_output.weight", c.Dim, c.QueryDim), (b + "ffn_gate.weight", c.HiddenDim, c.Dim),
                (b + "ffn_down.weight", c.Dim, c.HiddenDim), (b + "ffn_up.weight", c.HiddenDim, c.Dim)]);
        }
        string outputName = c.TiedOutput ? "token_embd.weight" : "output.weight";
        shapes.Add((outputName, c.VocabSize, c.Dim));
        var matrices = shapes.ToDictionary(m => m.Name, m => Matrix(m.Name, m.Rows, m.Cols));
        var embedding = c.TiedOutput ? matrices[outputName] : Matrix("token_embd.weight", c.VocabSize, c.Dim);
        if (storage != null && checkpoint.Mapping != null && InterleavedLoader.Enabled)
        {
            // The matrices a token multiplies; an embedding that is not also the output is only looked up row by row.
            var repacked = InterleavedLoader.Repack(checkpoint.Mapping, matrices.Values, storage);
            foreach (var (name, m) in matrices.ToList())
                if (repacked.TryGetValue(m, out var r)) matrices[name] = r;
            if (c.TiedOutput) embedding = matrices[outputName];
        }
        var layers = new LayerWeights[c.LayerCount];
        for (int i = 0; i < layers.Length; i++)
        {
            string b = $"blk.{i}.";
            layers[i] = new LayerWeights
            {
                AttentionNorm = Vector(b + "attn_norm.weight", c.Dim),
                Query = matrices[b + "attn_q.weight"],
                Key = matrices[b + "attn_k.weight"],
                Value = matrices[b + "attn_v.weight"],
                Output = matrices[b + "attn_output.weight"],
                FeedForwardNorm = Vector(b + "ffn_norm.weight", c.Dim),
                Gate = matrices[b + "ffn_gate.weight"],
                Down = matrices[b + "ffn_down.weight"],
                Up = matrices[b + "ffn_up.weight"],
            };
        }
        return new LlamaWeights
        {
            TokenEmbedding = embedding,
            Layers = layers,
            OutputNorm = Vector("output_norm.weight", c.Dim),
            Output = matrices[outputName],
            RopeFrequencyFactors = checkpoint.TryGetTensor("rope_freqs.weight", out _) ? Vector("rope_freqs.weight", c.RopeDim / 2) : null,
        };
    }

    // Read, not mapped: a norm is 8 KB, but touching it maps the 64 KB around it for the model's life. Null for a
    // tensor outside this file.
    private static unsafe float[]? ReadFloats(MappedFile map, TensorData t)
    {
        long offset = t.Parts[0].Data - map.Pointer;
        if (offset < 0 || t.ByteSize > map.Length - offset) return null;
        var bytes = new byte[t.ByteSize];
        map.Read(offset, bytes);
        fixed (byte* p = bytes) return TensorData.Contiguous(t.Name, t.SourceName, t.Type, t.Dimensions, p).ToFloats();
    }

    // Rows x columns, outermost first (as PyTorch prints it), whatever order the file stores.
    private static string Shape(TensorData t) => string.Join(" x ", t.Dimensions.Reverse());
}
