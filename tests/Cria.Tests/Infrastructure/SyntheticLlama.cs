using Cria.Formats.Gguf;
using Cria.Generation;
using Cria.Tensors;

namespace Cria.Tests.Infrastructure;

/// <summary>A tiny random-weight Llama GGUF of chosen hyper-parameters, written deterministically from a seed, with the
/// tok512 vocabulary. llama.cpp's logits for each spec are stored in Data/llamacpp-synthetic-logits.json (made by
/// tools/llamacpp-fixtures), so the architecture's corners (Llama 3 RoPE base and scaling, rope_freqs, GQA, head
/// width ≠ dim/heads, tied output) are checked against llama.cpp itself.</summary>
public sealed record SyntheticLlamaSpec(
    string Name,
    int Dim = 64,
    int Hidden = 96,
    int Layers = 2,
    int Heads = 4,
    int KvHeads = 2,
    int HeadDim = 0,
    float RopeTheta = 10000f,
    float RmsEps = 1e-5f,
    bool TiedOutput = false,
    string? RopeScalingType = null,
    float RopeScalingFactor = 1f,
    bool RopeFreqsTensor = false,
    int ContextLength = 256,
    GgmlType MatrixType = GgmlType.F32,
    ulong Seed = 1)
{
    public int HeadWidth => HeadDim > 0 ? HeadDim : Dim / Heads;
}

public static class SyntheticLlama
{
    /// <summary>The specs the stored llama.cpp reference covers.</summary>
    public static readonly SyntheticLlamaSpec[] Specs =
    [
        new("mha-tied", Heads: 4, KvHeads: 4, TiedOutput: true, Seed: 11),
        new("gqa-llama3-theta", Heads: 8, KvHeads: 2, RopeTheta: 500000f, RmsEps: 1e-6f, Seed: 12),
        new("llama31-rope-freqs", Heads: 4, KvHeads: 1, RopeTheta: 500000f, RopeFreqsTensor: true, Seed: 13),
        new("wide-heads", Dim: 64, Heads: 4, KvHeads: 2, HeadDim: 32, Seed: 14),
        new("linear-rope-scaling", RopeScalingType: "linear", RopeScalingFactor: 4f, Seed: 15),
        new("f16-matrices", MatrixType: GgmlType.F16, Heads: 4, KvHeads: 2, Seed: 16),
    ];

    /// <summary>Token ids the reference was computed for: BOS and a deterministic run over the vocabulary.</summary>
    public static int[] PromptIds => [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 100, 7, 300, 511];

    public static void Write(SyntheticLlamaSpec s, string path, GgufMetadata vocabularySource)
    {
        var random = new Xoshiro256(s.Seed);
        int headDim = s.HeadWidth, qDim = s.Heads * headDim, kvDim = s.KvHeads * headDim, vocab = 512;
        using var w = new GgufWriter(path);
        w.AddMetadata("general.architecture", GgufValue.Of("llama"));
        w.AddMetadata("general.name", GgufValue.Of("cria-synthetic-" + s.Name));
        w.AddMetadata("llama.context_length", GgufValue.Of((uint)s.ContextLength));
        w.AddMetadata("llama.embedding_length", GgufValue.Of((uint)s.Dim));
        w.AddMetadata("llama.feed_forward_length", GgufValue.Of((uint)s.Hidden));
        w.AddMetadata("llama.block_count", GgufValue.Of((uint)s.Layers));
        w.AddMetadata("llama.attention.head_count", GgufValue.Of((uint)s.Heads));
        w.AddMetadata("llama.attention.head_count_kv", GgufValue.Of((uint)s.KvHeads));
        w.AddMetadata("llama.rope.dimension_count", GgufValue.Of((uint)headDim));
        if (s.HeadDim > 0)
        {
            w.AddMetadata("llama.attention.key_length", GgufValue.Of((uint)headDim));
            w.AddMetadata("llama.attention.value_length", GgufValue.Of((uint)headDim));
        }
        w.AddMetadata("llama.rope.freq_base", GgufValue.Of(s.RopeTheta));
        w.AddMetadata("llama.attention.layer_norm_rms_epsilon", GgufValue.Of(s.RmsEps));
        if (s.RopeScalingType != null)
        {
            w.AddMetadata("llama.rope.scaling.type", GgufValue.Of(s.RopeScalingType));
            w.AddMetadata("llama.rope.scaling.factor", GgufValue.Of(s.RopeScalingFactor));
        }
        w.AddMetadata("general.file_type", GgufValue.Of(s.MatrixType == GgmlType.F16 ? 1u : 0u));
        foreach (var (key, value) in vocabularySource.Entries)
            if (key.StartsWith("tokenizer.", StringComparison.Ordinal) && key != "tokenizer.ggml.seperator_token_id") w.AddMetadata(key, value);

        var tensors = new List<(string Name, long[] Dims, GgmlType Type, float[] Values)>();
        void Matrix(string name, int rows, int cols, double scale) =>
            tensors.Add((name, [cols, rows], s.MatrixType, Normal(random, rows * cols, scale / Math.Sqrt(cols))));
        void Norm(string name, int length) =>
            tensors.Add((name, [length], GgmlType.F32, Normal(random, length, 0.1).Select(v => 1 + v).ToArray()));

        Matrix("token_embd.weight", vocab, s.Dim, Math.Sqrt(s.Dim));
        for (int l = 0; l < s.Layers; l++)
        {
            string b = $"blk.{l}.";
            Norm(b + "attn_norm.weight", s.Dim);
            Matrix(b + "attn_q.weight", qDim, s.Dim, 2);
            Matrix(b + "attn_k.weight", kvDim, s.Dim, 2);
            Matrix(b + "attn_v.weight", kvDim, s.Dim, 1);
            Matrix(b + "attn_output.weight", s.Dim, qDim, 1);
            Norm(b + "ffn_norm.weight", s.Dim);
            Matrix(b + "ffn_gate.weight", s.Hidden, s.Dim, 1);
            Matrix(b + "ffn_up.weight", s.Hidden, s.Dim, 1);
            Matrix(b + "ffn_down.weight", s.Dim, s.Hidden, 1);
        }
        Norm("output_norm.weight", s.Dim);
        if (!s.TiedOutput) Matrix("output.weight", vocab, s.Dim, 1);
        if (s.RopeFreqsTensor)
        {
            // Divisors as Llama 3.1's scaling makes them (1 for high frequencies, up to the factor for low ones).
            int pairs = headDim / 2;
            var factors = new float[pairs];
            for (int i = 0; i < pairs; i++) factors[i] = 1f + 7f * i / Math.Max(1, pairs - 1);
            tensors.Add(("rope_freqs.weight", [pairs], GgmlType.F32, factors));
        }

        foreach (var t in tensors) w.AddTensor(t.Name, t.Dims, t.Type);
        foreach (var t in tensors) w.WriteTensor(t.Name, Encode(t.Values, t.Type));
        w.Complete();
    }

    private static float[] Normal(Xoshiro256 random, int count, double scale)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble(); // Box–Muller
            values[i] = (float)(scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return values;
    }

    private static byte[] Encode(float[] values, GgmlType type)
    {
        if (type == GgmlType.F32) return System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        var bytes = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 2), BitConverter.HalfToUInt16Bits((Half)values[i]));
        return bytes;
    }
}
