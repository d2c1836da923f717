using Cria.Model;

namespace Cria.Formats.Gguf;

/// <summary>The Llama configuration in a GGUF file's <c>llama.*</c> metadata.</summary>
public static class GgufConfigReader
{
    public static LlamaConfig ReadConfig(GgufFile file)
    {
        var m = file.Metadata;
        string source = $"GGUF '{file.Path}'";
        string arch = m.GetString("general.architecture") ?? throw new ModelFormatException($"{source}: no general.architecture in the metadata");
        if (arch != "llama")
            throw new ModelFormatException($"{source}: architecture '{arch}' is not supported (Cria runs 'llama' models)");
        string p = arch + ".";
        int Required(string key)
        {
            long v = m.GetInt(p + key) ?? throw new ModelFormatException($"{source}: metadata '{p + key}' is missing");
            if (v <= 0 || v > int.MaxValue) throw new ModelFormatException($"{source}: metadata '{p + key}' = {v} is out of range");
            return (int)v;
        }
        int Optional(string key, int fallback)
        {
            long? v = m.GetInt(p + key);
            if (v is null) return fallback;
            if (v <= 0 || v > int.MaxValue) throw new ModelFormatException($"{source}: metadata '{p + key}' = {v} is out of range");
            return (int)v.Value;
        }

        int dim = Required("embedding_length");
        int heads = Required("attention.head_count");
        int headDim = Optional("attention.key_length", dim / heads);
        int valueDim = Optional("attention.value_length", headDim);
        if (valueDim != headDim) throw new ModelFormatException($"{source}: key length {headDim} and value length {valueDim} differ, which Llama models never do");
        int vocab = Optional("vocab_size", 0);
        if (vocab == 0 && file.TryGetTensor("token_embd.weight", out var embd) && embd.Dimensions.Length == 2) vocab = (int)Math.Min(embd.Dimensions[1], int.MaxValue);
        var config = new LlamaConfig
        {
            Dim = dim,
            HiddenDim = Required("feed_forward_length"),
            LayerCount = Required("block_count"),
            HeadCount = heads,
            KvHeadCount = Optional("attention.head_count_kv", heads),
            HeadDim = headDim,
            VocabSize = vocab,
            ContextLength = Required("context_length"),
            RmsEps = (float)(m.GetFloat(p + "attention.layer_norm_rms_epsilon") ?? 1e-5),
            RopeTheta = (float)(m.GetFloat(p + "rope.freq_base") ?? 10000.0),
            RopeDim = Optional("rope.dimension_count", headDim),
            RopeStyle = RopeStyle.AdjacentPairs, // llama.cpp's converters permute q/k into adjacent-pair order
            RopeScaling = ReadRopeScaling(m, p, source),
            TiedOutput = !file.TryGetTensor("output.weight", out _),
        };
        return config.Validated(source);
    }

    private static RopeScaling ReadRopeScaling(GgufMetadata m, string p, string source)
    {
        string? type = m.GetString(p + "rope.scaling.type");
        double factor = m.GetFloat(p + "rope.scaling.factor") ?? 0;
        // Older files give only a linear factor (rope.scale_linear).
        if (type is null && m.GetFloat(p + "rope.scale_linear") is double linear && linear != 1) return new RopeScaling(RopeScalingKind.Linear, linear);
        return type switch
        {
            null or "none" => RopeScaling.None,
            "linear" when factor is 0 or 1 => RopeScaling.None,
            "linear" => new RopeScaling(RopeScalingKind.Linear, factor),
            // llama.cpp writes Llama 3.1's scaling as the rope_freqs tensor; the keys, when present, are informative.
            "llama3" => new RopeScaling(RopeScalingKind.Llama3, factor > 0 ? factor : 8,
                m.GetFloat(p + "rope.scaling.low_freq_factor") ?? 1, m.GetFloat(p + "rope.scaling.high_freq_factor") ?? 4,
                (int)(m.GetInt(p + "rope.scaling.original_context_length") ?? 8192)),
            _ => throw new ModelFormatException($"{source}: RoPE scaling '{type}' is not supported (none, linear, llama3 are)"),
        };
    }
}
