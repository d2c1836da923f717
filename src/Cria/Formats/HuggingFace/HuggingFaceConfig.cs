using System.Text.Json;
using Cria.Model;

namespace Cria.Formats.HuggingFace;

/// <summary>A Hugging Face <c>config.json</c> of a <c>LlamaForCausalLM</c>, read into a <see cref="LlamaConfig"/> with
/// transformers' <c>LlamaConfig</c> defaults for absent keys. Other architectures, biases, activations other than
/// SiLU and RoPE scalings other than linear and llama3 are refused by name.</summary>
public sealed record HuggingFaceConfig
{
    /// <summary>The architecture Cria reads and writes.</summary>
    public const string Architecture = "LlamaForCausalLM";

    /// <summary>Config files are a few kB; anything this large is not one (and is not read into memory).</summary>
    public const long MaxFileBytes = 16 << 20;

    /// <summary>The model's hyper-parameters, with <see cref="RopeStyle.Halves"/> (HF permutes q/k for rotate_half).</summary>
    public required LlamaConfig Config { get; init; }
    /// <summary><c>tie_word_embeddings</c> (transformers' default: false).</summary>
    public bool TieWordEmbeddings { get; init; }
    /// <summary><c>torch_dtype</c> (or v5's <c>dtype</c>), e.g. "bfloat16", when given.</summary>
    public string? TorchDType { get; init; }
    /// <summary><c>bos_token_id</c>, when given.</summary>
    public int? BosTokenId { get; init; }
    /// <summary><c>eos_token_id</c> (the first, when a list), when given.</summary>
    public int? EosTokenId { get; init; }

    /// <summary>Reads and checks <paramref name="path"/>.</summary>
    public static HuggingFaceConfig Read(string path)
    {
        string source = $"Hugging Face config '{path}'";
        using var document = ParseJsonFile(path, MaxFileBytes, source);
        return FromJson(document.RootElement, source);
    }

    /// <summary>Parses a small JSON file whole, refusing files over <paramref name="maxBytes"/> before reading them.</summary>
    internal static JsonDocument ParseJsonFile(string path, long maxBytes, string source)
    {
        if (!File.Exists(path)) throw new CriaException($"{source}: file not found");
        long length = new FileInfo(path).Length;
        if (length > maxBytes) throw new ModelFormatException($"{source}: {length} bytes is too large for this kind of file (limit {maxBytes})");
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            return JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{source}: not valid JSON ({e.Message})", e);
        }
        catch (IOException e)
        {
            throw new CriaException($"{source}: cannot read it ({e.Message})", e);
        }
    }

    /// <summary>Reads a parsed config; errors start with <paramref name="source"/>.</summary>
    public static HuggingFaceConfig FromJson(JsonElement root, string source)
    {
        try
        {
            return Interpret(new JsonFields(root, source), source);
        }
        catch (InvalidOperationException e) // a string with a \uD800-style escape that is not a whole character
        {
            throw new ModelFormatException($"{source}: a string is not valid Unicode ({e.Message})", e);
        }
    }

    private static HuggingFaceConfig Interpret(JsonFields json, string source)
    {
        CheckArchitecture(json, source);
        if (json.String("hidden_act") is { } act && act != "silu")
            throw new ModelFormatException($"{source}: hidden_act '{act}' is not supported (Llama uses 'silu')");
        foreach (string key in new[] { "attention_bias", "mlp_bias" })
            if (json.Bool(key) == true) throw new ModelFormatException($"{source}: {key} is true; Cria's Llama has no biases");

        int dim = json.RequiredInt("hidden_size");
        int heads = json.RequiredInt("num_attention_heads");
        var rope = json.Object("rope_parameters"); // transformers v5 keeps rope_theta and the scaling here
        double theta = (rope?.Double("rope_theta") ?? json.Double("rope_theta")) ?? 10000.0;
        var scalingFields = rope ?? json.Object("rope_scaling");
        var scaling = ReadScaling(scalingFields, source);
        if ((scalingFields?.Double("partial_rotary_factor") ?? json.Double("partial_rotary_factor")) is double partial && partial != 1)
            throw new ModelFormatException($"{source}: partial_rotary_factor {partial} is not supported by LlamaForCausalLM");

        var config = new LlamaConfig
        {
            Dim = dim,
            HiddenDim = json.RequiredInt("intermediate_size"),
            LayerCount = json.RequiredInt("num_hidden_layers"),
            HeadCount = heads,
            KvHeadCount = json.Int("num_key_value_heads") ?? heads,
            HeadDim = json.Int("head_dim") ?? dim / heads,
            VocabSize = json.Int("vocab_size") ?? 32000,
            ContextLength = json.Int("max_position_embeddings") ?? 2048,
            RmsEps = (float)(json.Double("rms_norm_eps") ?? 1e-6),
            RopeTheta = (float)theta,
            RopeStyle = RopeStyle.Halves, // HF stores q/k permuted so that rotate_half (halves) equals Meta's pairs
            RopeScaling = scaling,
        };
        bool tie = json.Bool("tie_word_embeddings") ?? false;
        return new HuggingFaceConfig
        {
            Config = config.Validated(source) with { TiedOutput = tie },
            TieWordEmbeddings = tie,
            TorchDType = json.String("torch_dtype") ?? json.String("dtype"),
            BosTokenId = json.OptionalTokenId("bos_token_id"),
            EosTokenId = json.OptionalTokenId("eos_token_id"),
        };
    }

    private static void CheckArchitecture(JsonFields json, string source)
    {
        string[]? architectures = json.Strings("architectures");
        string? modelType = json.String("model_type");
        if (architectures is { Length: > 0 } && !architectures.Contains(Architecture))
            throw new ModelFormatException($"{source}: architecture {string.Join(", ", architectures)} is not supported (Cria reads {Architecture})");
        if (modelType != null && modelType != "llama")
            throw new ModelFormatException($"{source}: model_type '{modelType}' is not supported (Cria reads 'llama')");
        if (architectures is not { Length: > 0 } && modelType == null)
            throw new ModelFormatException($"{source}: neither 'architectures' nor 'model_type' says what model this is (expected {Architecture})");
    }

    private static RopeScaling ReadScaling(JsonFields? scaling, string source)
    {
        if (scaling == null) return RopeScaling.None;
        string? type = scaling.String("rope_type") ?? scaling.String("type");
        string where = $"{source}: rope_scaling";
        double Required(string key) =>
            scaling.Double(key) is double v && double.IsFinite(v) && v > 0 ? v : throw new ModelFormatException($"{where} ({type}) needs a positive '{key}'");
        return type switch
        {
            null or "default" => RopeScaling.None,
            "linear" => new RopeScaling(RopeScalingKind.Linear, Required("factor")),
            "llama3" => Llama3(),
            _ => throw new ModelFormatException($"{where}: rope_type '{type}' is not supported (default, linear and llama3 are)"),
        };

        RopeScaling Llama3()
        {
            double factor = Required("factor"), low = Required("low_freq_factor"), high = Required("high_freq_factor");
            int original = scaling.Int("original_max_position_embeddings") ?? throw new ModelFormatException($"{where} (llama3) needs 'original_max_position_embeddings'");
            if (high <= low) throw new ModelFormatException($"{where}: high_freq_factor {high} must be greater than low_freq_factor {low}");
            return new RopeScaling(RopeScalingKind.Llama3, factor, low, high, original);
        }
    }

    /// <summary>Typed access to an object's fields with errors naming the key; absent and null read as null.</summary>
    private sealed class JsonFields
    {
        private readonly JsonElement _object;
        private readonly string _source;

        public JsonFields(JsonElement element, string source)
        {
            if (element.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{source}: expected a JSON object, found {element.ValueKind}");
            _object = element;
            _source = source;
        }

        private JsonElement? Get(string key) =>
            _object.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

        private ModelFormatException Wrong(string key, JsonElement v, string expected) =>
            new($"{_source}: '{key}' is {Show(v)}, expected {expected}");

        private static string Show(JsonElement v)
        {
            string text = v.GetRawText();
            return text.Length <= 60 ? text : text[..60] + "…";
        }

        public int RequiredInt(string key) => Int(key) ?? throw new ModelFormatException($"{_source}: '{key}' is missing");

        public int? Int(string key)
        {
            if (Get(key) is not { } v) return null;
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long n) || n <= 0 || n > int.MaxValue) throw Wrong(key, v, "a positive integer");
            return (int)n;
        }

        // Token ids may be a list (several EOS ids, as Llama 3.1 has); the first is kept.
        public int? OptionalTokenId(string key)
        {
            if (Get(key) is not { } v) return null;
            if (v.ValueKind == JsonValueKind.Array) v = v.EnumerateArray().FirstOrDefault();
            return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int id) && id >= 0 ? id : null;
        }

        public double? Double(string key)
        {
            if (Get(key) is not { } v) return null;
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || !double.IsFinite(d)) throw Wrong(key, v, "a number");
            return d;
        }

        public bool? Bool(string key)
        {
            if (Get(key) is not { } v) return null;
            return v.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Wrong(key, v, "true or false"),
            };
        }

        public string? String(string key)
        {
            if (Get(key) is not { } v) return null;
            return v.ValueKind == JsonValueKind.String ? v.GetString() : throw Wrong(key, v, "a string");
        }

        public string[]? Strings(string key)
        {
            if (Get(key) is not { } v) return null;
            if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String)) throw Wrong(key, v, "a list of strings");
            return v.EnumerateArray().Select(e => e.GetString()!).ToArray();
        }

        public JsonFields? Object(string key)
        {
            if (Get(key) is not { } v) return null;
            return v.ValueKind == JsonValueKind.Object ? new JsonFields(v, _source) : throw Wrong(key, v, "an object");
        }
    }
}
