using System.Globalization;

namespace Cria.Formats.Meta;

/// <summary>How a tensor is divided among model-parallel shards (fairscale's layers in Meta's model.py).</summary>
public enum MetaSplit
{
    /// <summary>The same in every shard (RMSNorm weights).</summary>
    Replicated,
    /// <summary>ColumnParallelLinear (wq wk wv w1 w3 output): split along the output dimension, i.e. by rows.</summary>
    Rows,
    /// <summary>RowParallelLinear (wo w2): split along the input dimension, i.e. by columns.</summary>
    Columns,
    /// <summary>tok_embeddings: ParallelEmbedding splits the embedding dimension (Llama 1/2, by columns),
    /// VocabParallelEmbedding the vocabulary (Llama 3, by rows); the shard shapes tell which.</summary>
    Embedding,
    /// <summary><c>rope.freqs</c>: a buffer Meta's loader skips (strict=False); the frequencies are recomputed.</summary>
    Ignored,
}

/// <summary>Meta's tensor names, their GGUF names and how shards split them.</summary>
public static class MetaLayout
{
    private static readonly Dictionary<string, (string Gguf, MetaSplit Split)> Global = new()
    {
        ["tok_embeddings.weight"] = ("token_embd.weight", MetaSplit.Embedding),
        ["norm.weight"] = ("output_norm.weight", MetaSplit.Replicated),
        ["output.weight"] = ("output.weight", MetaSplit.Rows),
        ["rope.freqs"] = ("", MetaSplit.Ignored),
    };

    private static readonly Dictionary<string, (string Gguf, MetaSplit Split)> PerLayer = new()
    {
        ["attention.wq.weight"] = ("attn_q.weight", MetaSplit.Rows),
        ["attention.wk.weight"] = ("attn_k.weight", MetaSplit.Rows),
        ["attention.wv.weight"] = ("attn_v.weight", MetaSplit.Rows),
        ["attention.wo.weight"] = ("attn_output.weight", MetaSplit.Columns),
        ["feed_forward.w1.weight"] = ("ffn_gate.weight", MetaSplit.Rows),
        ["feed_forward.w2.weight"] = ("ffn_down.weight", MetaSplit.Columns),
        ["feed_forward.w3.weight"] = ("ffn_up.weight", MetaSplit.Rows),
        ["attention_norm.weight"] = ("attn_norm.weight", MetaSplit.Replicated),
        ["ffn_norm.weight"] = ("ffn_norm.weight", MetaSplit.Replicated),
        // Some LLaMA 1 checkpoints keep the rotary buffer per layer (llama.cpp's "llama-pth" name); ignored likewise.
        ["attention.inner_attention.rope.freqs"] = ("", MetaSplit.Ignored),
    };

    /// <summary>The Meta names every checkpoint of <paramref name="layers"/> layers has (rope.freqs aside).</summary>
    public static IEnumerable<string> RequiredNames(int layers)
    {
        yield return "tok_embeddings.weight";
        for (int i = 0; i < layers; i++)
            foreach (var (suffix, (_, split)) in PerLayer)
                if (split != MetaSplit.Ignored) yield return $"layers.{i}.{suffix}";
        yield return "norm.weight";
        yield return "output.weight";
    }

    /// <summary>The GGUF name and split of a Meta tensor name, with its layer (−1 for the others); false for a name
    /// outside Meta's Llama layout.</summary>
    public static bool TryMap(string metaName, out string ggufName, out MetaSplit split, out int layer)
    {
        layer = -1;
        if (Global.TryGetValue(metaName, out var g))
        {
            (ggufName, split) = g;
            return true;
        }
        ggufName = "";
        split = MetaSplit.Ignored;
        const string prefix = "layers.";
        if (!metaName.StartsWith(prefix, StringComparison.Ordinal)) return false;
        int dot = metaName.IndexOf('.', prefix.Length);
        if (dot < 0) return false;
        var number = metaName.AsSpan(prefix.Length, dot - prefix.Length);
        if (number.Length is 0 or > 5 || (number.Length > 1 && number[0] == '0') ||
            !int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out layer))
        {
            layer = -1;
            return false;
        }
        if (!PerLayer.TryGetValue(metaName[(dot + 1)..], out var l)) return false;
        ggufName = l.Split == MetaSplit.Ignored ? "" : $"blk.{layer}.{l.Gguf}";
        split = l.Split;
        return true;
    }
}
