using Cria.Formats.Gguf;

namespace Cria.Quantization;

/// <summary>What llama.cpp's per-tensor type choice reads from the model besides the tensor itself
/// (<c>quantize_state_impl</c> and <c>llama_hparams</c> in <c>llama_model_quantize_impl</c>).</summary>
/// <param name="Architecture">general.architecture, e.g. "llama".</param>
/// <param name="LayerCount">{arch}.block_count: llama.cpp's n_ffn_down = n_ffn_gate = n_ffn_up.</param>
/// <param name="HeadCount">{arch}.attention.head_count.</param>
/// <param name="KvHeadCount">{arch}.attention.head_count_kv (head_count when absent).</param>
/// <param name="ExpertCount">{arch}.expert_count (0 when absent).</param>
/// <param name="HasOutput">Whether the file has <c>output.weight</c>; without it the token embedding is quantised as the output.</param>
/// <param name="AttentionVCount">Tensors whose names contain attn_v.weight, attn_qkv.weight or attn_kv_b.weight (n_attention_wv).</param>
public sealed record QuantizationModelInfo(string Architecture, int LayerCount, int HeadCount, int KvHeadCount, int ExpertCount,
    bool HasOutput, int AttentionVCount)
{
    /// <summary>llama.cpp's <c>n_gqa()</c>: query heads per KV head (0 without KV heads).</summary>
    public int GqaFactor => KvHeadCount == 0 ? 0 : HeadCount / KvHeadCount;

    public bool IsFalcon => Architecture == "falcon";

    /// <summary>llama.cpp's <c>model.type == LLM_TYPE_70B</c> for a Llama: 80 layers with grouped-query attention
    /// (80 layers without it is LLaMA 65B), not a mixture of 8 experts.</summary>
    public bool Is70B => Architecture == "llama" && ExpertCount != 8 && LayerCount == 80 && HeadCount != KvHeadCount;

    /// <summary>Reads the model facts from a GGUF file's metadata and tensor names.</summary>
    public static QuantizationModelInfo From(GgufFile file)
    {
        var m = file.Metadata;
        string arch = m.GetString("general.architecture") ?? "";
        int Int(string key, int fallback)
        {
            long? value = m.GetInt($"{arch}.{key}");
            if (value is null && m.GetIntArray($"{arch}.{key}") is { Length: > 0 } a) value = a[0]; // per-layer arrays: llama.cpp's n_gqa() reads layer 0
            if (value is null) return fallback;
            if (value < 0 || value > int.MaxValue)
                throw new ModelFormatException($"'{file.Path}': metadata {arch}.{key} = {value} is out of range");
            return (int)value;
        }
        int heads = Int("attention.head_count", 0);
        int attentionV = file.Tensors.Count(t => t.Name.Contains("attn_v.weight", StringComparison.Ordinal) ||
                                                 t.Name.Contains("attn_qkv.weight", StringComparison.Ordinal) ||
                                                 t.Name.Contains("attn_kv_b.weight", StringComparison.Ordinal));
        return new QuantizationModelInfo(arch, Int("block_count", 0), heads, Int("attention.head_count_kv", heads), Int("expert_count", 0),
            file.Tensors.Any(t => t.Name == "output.weight"), attentionV);
    }
}
