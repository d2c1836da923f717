using System.Globalization;

namespace Cria.Formats.HuggingFace;

/// <summary>Tensor names of transformers' <c>LlamaForCausalLM</c> and their GGUF (llama.cpp) equivalents, both ways.</summary>
public static class HuggingFaceTensorNames
{
    private const string LayerPrefix = "model.layers.";

    private static readonly (string Hf, string Gguf)[] Global =
    [
        ("model.embed_tokens.weight", "token_embd.weight"),
        ("model.norm.weight", "output_norm.weight"),
        ("lm_head.weight", "output.weight"),
    ];

    // Within model.layers.N. ↔ blk.N., in LlamaDecoderLayer's state-dict order (self_attn, mlp, then the two norms),
    // which decides where a shard boundary falls.
    private static readonly (string Hf, string Gguf)[] PerLayer =
    [
        ("self_attn.q_proj.weight", "attn_q.weight"),
        ("self_attn.k_proj.weight", "attn_k.weight"),
        ("self_attn.v_proj.weight", "attn_v.weight"),
        ("self_attn.o_proj.weight", "attn_output.weight"),
        ("mlp.gate_proj.weight", "ffn_gate.weight"),
        ("mlp.up_proj.weight", "ffn_up.weight"),
        ("mlp.down_proj.weight", "ffn_down.weight"),
        ("input_layernorm.weight", "attn_norm.weight"),
        ("post_attention_layernorm.weight", "ffn_norm.weight"),
    ];

    /// <summary>The HF name of the tied or separate classifier.</summary>
    public const string LmHead = "lm_head.weight";

    /// <summary>Every tensor name a model of <paramref name="layers"/> layers has, in transformers' state-dict order
    /// (embedding, each layer, final norm, then <c>lm_head</c> unless tied).</summary>
    public static IEnumerable<string> ModelNames(int layers, bool tied)
    {
        yield return Global[0].Hf;
        for (int i = 0; i < layers; i++)
            foreach (var (hf, _) in PerLayer) yield return $"{LayerPrefix}{i}.{hf}";
        yield return Global[1].Hf;
        if (!tied) yield return LmHead;
    }

    /// <summary>True for tensors older transformers saved that are not weights (each layer's RoPE
    /// <c>rotary_emb.inv_freq</c>, recomputed from the config); readers skip them.</summary>
    public static bool IsDerivedBuffer(string hfName) =>
        hfName.StartsWith(LayerPrefix, StringComparison.Ordinal) && hfName.EndsWith(".self_attn.rotary_emb.inv_freq", StringComparison.Ordinal);

    /// <summary>The GGUF name of a Llama weight, with its layer (-1 for global tensors); false for any other name.</summary>
    public static bool TryToGguf(string hfName, out string ggufName, out int layer)
    {
        layer = -1;
        foreach (var (hf, gguf) in Global)
            if (hfName == hf) { ggufName = gguf; return true; }
        ggufName = "";
        if (!hfName.StartsWith(LayerPrefix, StringComparison.Ordinal)) return false;
        int dot = hfName.IndexOf('.', LayerPrefix.Length);
        if (dot < 0 || !TryParseLayer(hfName.AsSpan(LayerPrefix.Length, dot - LayerPrefix.Length), out layer)) return false;
        var part = hfName.AsSpan(dot + 1);
        foreach (var (hf, gguf) in PerLayer)
            if (part.SequenceEqual(hf)) { ggufName = $"blk.{layer}.{gguf}"; return true; }
        layer = -1;
        return false;
    }

    /// <summary>The HF name of a GGUF-named Llama weight; false for names HF has no tensor for (e.g. <c>rope_freqs.weight</c>).</summary>
    public static bool TryToHuggingFace(string ggufName, out string hfName)
    {
        foreach (var (hf, gguf) in Global)
            if (ggufName == gguf) { hfName = hf; return true; }
        hfName = "";
        const string blk = "blk.";
        if (!ggufName.StartsWith(blk, StringComparison.Ordinal)) return false;
        int dot = ggufName.IndexOf('.', blk.Length);
        if (dot < 0 || !TryParseLayer(ggufName.AsSpan(blk.Length, dot - blk.Length), out int layer)) return false;
        var part = ggufName.AsSpan(dot + 1);
        foreach (var (hf, gguf) in PerLayer)
            if (part.SequenceEqual(gguf)) { hfName = $"{LayerPrefix}{layer}.{hf}"; return true; }
        return false;
    }

    // Plain decimal without sign or leading zeros, so each layer has exactly one spelling.
    private static bool TryParseLayer(ReadOnlySpan<char> text, out int layer) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out layer) && (text.Length == 1 || text[0] != '0');
}
