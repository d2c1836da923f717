using Cria.Formats.Gguf;
using Cria.Tensors;

namespace Cria.Tests.Quantization;

/// <summary>Small random Llama-shaped F32 GGUFs whose shapes exercise llama.cpp's mix rules: 16 layers with 4x GQA
/// (use_more_bits, the n/8 and n/16 layer rules, Q2_K's GQA rule), a tied output, and rows of 320/352 that fit no
/// 256-element block (fallbacks). tools/llamacpp-quantize compiles this same file to quantise them with llama.cpp
/// (Data/llamacpp-quantize-digests.json); the tests regenerate them from it. Written with integer arithmetic and float
/// multiplies only, so they are the same bytes on every machine.</summary>
public static class SyntheticQuantizeModels
{
    public sealed record Spec(string Name, int Dim, int Ffn, int Layers, int Vocab, int Heads, int KvHeads, bool Tied, ulong Seed);

    public static readonly Spec[] Specs =
    [
        new("gqa4-16-layers", Dim: 256, Ffn: 256, Layers: 16, Vocab: 300, Heads: 8, KvHeads: 2, Tied: false, Seed: 1),
        new("tied-3-layers", Dim: 256, Ffn: 512, Layers: 3, Vocab: 300, Heads: 4, KvHeads: 4, Tied: true, Seed: 2),
        new("rows-320-352", Dim: 320, Ffn: 352, Layers: 4, Vocab: 300, Heads: 5, KvHeads: 1, Tied: false, Seed: 3),
    ];

    public static Spec Get(string name) => Specs.Single(s => s.Name == name);

    /// <summary>Writes <paramref name="s"/> to <paramref name="path"/>: tensors in Meta order (llama.cpp re-sorts them),
    /// weights roughly normal with standard deviation 1/√dim, norms 1.</summary>
    public static void Write(Spec s, string path)
    {
        int kvDim = s.Dim / s.Heads * s.KvHeads;
        var tensors = new List<(string Name, long[] Dims)> { ("token_embd.weight", [s.Dim, s.Vocab]) };
        for (int i = 0; i < s.Layers; i++)
        {
            tensors.Add(($"blk.{i}.attn_norm.weight", [s.Dim]));
            tensors.Add(($"blk.{i}.attn_q.weight", [s.Dim, s.Dim]));
            tensors.Add(($"blk.{i}.attn_k.weight", [s.Dim, kvDim]));
            tensors.Add(($"blk.{i}.attn_v.weight", [s.Dim, kvDim]));
            tensors.Add(($"blk.{i}.attn_output.weight", [s.Dim, s.Dim]));
            tensors.Add(($"blk.{i}.ffn_norm.weight", [s.Dim]));
            tensors.Add(($"blk.{i}.ffn_gate.weight", [s.Dim, s.Ffn]));
            tensors.Add(($"blk.{i}.ffn_up.weight", [s.Dim, s.Ffn]));
            tensors.Add(($"blk.{i}.ffn_down.weight", [s.Ffn, s.Dim]));
        }
        tensors.Add(("output_norm.weight", [s.Dim]));
        if (!s.Tied) tensors.Add(("output.weight", [s.Dim, s.Vocab]));

        using var w = new GgufWriter(path);
        w.AddMetadata("general.architecture", GgufValue.Of("llama"));
        w.AddMetadata("general.name", GgufValue.Of("cria-synthetic-" + s.Name));
        w.AddMetadata("llama.context_length", GgufValue.Of(512u));
        w.AddMetadata("llama.embedding_length", GgufValue.Of((uint)s.Dim));
        w.AddMetadata("llama.feed_forward_length", GgufValue.Of((uint)s.Ffn));
        w.AddMetadata("llama.block_count", GgufValue.Of((uint)s.Layers));
        w.AddMetadata("llama.attention.head_count", GgufValue.Of((uint)s.Heads));
        w.AddMetadata("llama.attention.head_count_kv", GgufValue.Of((uint)s.KvHeads));
        w.AddMetadata("llama.rope.dimension_count", GgufValue.Of((uint)(s.Dim / s.Heads)));
        w.AddMetadata("llama.attention.layer_norm_rms_epsilon", GgufValue.Of(1e-5f));
        w.AddMetadata("llama.vocab_size", GgufValue.Of((uint)s.Vocab));
        w.AddMetadata("general.file_type", GgufValue.Of(0u));
        foreach (var t in tensors) w.AddTensor(t.Name, t.Dims, GgmlType.F32);
        ulong state = s.Seed;
        float scale = 1f / MathF.Sqrt(s.Dim);
        foreach (var t in tensors)
        {
            long count = t.Dims.Aggregate(1L, (a, b) => a * b);
            byte[] data = new byte[count * 4];
            for (long i = 0; i < count; i++)
            {
                float v = 1f;
                if (t.Dims.Length > 1)
                {
                    float sum = 0; // Irwin–Hall: 4 uniforms, scaled to unit variance
                    for (int k = 0; k < 4; k++) sum += (Next(ref state) >> 40) * (1f / (1 << 24));
                    v = (sum - 2f) * 1.7320508f * scale;
                }
                BitConverter.TryWriteBytes(data.AsSpan((int)(i * 4)), v);
            }
            w.WriteTensor(t.Name, data);
        }
        w.Complete();
    }

    private static ulong Next(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
