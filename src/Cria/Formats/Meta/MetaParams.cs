using System.Text.Json;
using Cria.Model;

namespace Cria.Formats.Meta;

/// <summary>Meta's <c>params.json</c>: the <c>ModelArgs</c> of meta-llama/llama (Llama 1/2) and llama-models (Llama 3),
/// with their defaults for keys a file leaves out.</summary>
public sealed record MetaParams
{
    /// <summary>Largest params.json read; Meta's are under 300 bytes.</summary>
    public const int MaxFileBytes = 1 << 20;

    public required int Dim { get; init; }
    public required int LayerCount { get; init; }
    public required int HeadCount { get; init; }
    /// <summary><c>n_kv_heads</c>; <see cref="HeadCount"/> when absent or null.</summary>
    public required int KvHeadCount { get; init; }
    /// <summary><c>vocab_size</c>; −1 (as Llama 1/2 files have it) means "the embedding's row count".</summary>
    public int VocabSize { get; init; } = -1;
    public int MultipleOf { get; init; } = 256;
    public double? FfnDimMultiplier { get; init; }
    public double NormEps { get; init; } = 1e-5;
    /// <summary><c>rope_theta</c>; Llama 1/2 files have none and use 10000.</summary>
    public double RopeTheta { get; init; } = 10000;
    /// <summary>Llama 3.1's frequency-dependent RoPE scaling (Meta's <c>apply_scaling</c>).</summary>
    public bool UseScaledRope { get; init; }
    /// <summary><c>max_seq_len</c>, which Meta's released files do not have.</summary>
    public int? MaxSeqLen { get; init; }

    /// <summary>The SwiGLU width exactly as Meta's <c>FeedForward</c> computes it from <c>hidden_dim = 4 * dim</c>:
    /// <c>int(2 * hidden_dim / 3)</c>, times <c>ffn_dim_multiplier</c> (truncated) when set, rounded up to
    /// <c>multiple_of</c>. 11008 for Llama 2 7B, 14336 for Llama 3 8B.</summary>
    public long HiddenDim
    {
        get
        {
            long hidden = (long)(2.0 * (4L * Dim) / 3.0); // Python's true division then int(), truncating
            if (FfnDimMultiplier is double multiplier) hidden = (long)(multiplier * hidden);
            return MultipleOf * ((hidden + MultipleOf - 1) / MultipleOf);
        }
    }

    /// <summary>The context length: <c>max_seq_len</c> if given, else the family's trained context: 131072 for Llama
    /// 3.1+ (scaled RoPE), 8192 for Llama 3 (RoPE base 500000), 4096 for Llama 2 (Llama 1's 2048 cannot be told apart
    /// from params.json).</summary>
    public int ContextLength => MaxSeqLen ?? (UseScaledRope ? 131072 : RopeTheta >= 500000 ? 8192 : 4096);

    /// <summary>The model configuration, given the vocabulary size the embedding shows.</summary>
    public LlamaConfig ToConfig(int vocabSize, string source) => new LlamaConfig
    {
        Dim = Dim,
        HiddenDim = (int)Math.Min(HiddenDim, int.MaxValue),
        LayerCount = LayerCount,
        HeadCount = HeadCount,
        KvHeadCount = KvHeadCount,
        HeadDim = Dim / HeadCount,
        VocabSize = vocabSize,
        ContextLength = ContextLength,
        RmsEps = (float)NormEps,
        RopeTheta = (float)RopeTheta,
        RopeStyle = RopeStyle.AdjacentPairs, // Meta's apply_rotary_emb rotates (2i, 2i+1) pairs
        // Meta's apply_scaling constants (llama-models reference_impl/model.py).
        RopeScaling = UseScaledRope ? new RopeScaling(RopeScalingKind.Llama3, 8, 1, 4, 8192) : RopeScaling.None,
        TiedOutput = false,
    }.Validated(source);

    /// <summary>Reads and checks <paramref name="path"/>; every error names the file and the field.</summary>
    public static MetaParams Read(string path)
    {
        string source = $"Meta params '{path}'";
        var info = new FileInfo(path);
        if (!info.Exists) throw new CriaException($"{source}: file not found");
        if (info.Length > MaxFileBytes) throw new ModelFormatException($"{source}: {info.Length:N0} bytes is too large for a params.json");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CriaException($"{source}: cannot read it: {e.Message}", e);
        }
        try
        {
            using var document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 16 });
            return Parse(document.RootElement, source);
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{source}: not valid JSON: {e.Message}", e);
        }
    }

    private static MetaParams Parse(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{source}: expected a JSON object, found {root.ValueKind}");
        var f = new Fields(root, source);
        int dim = f.Int("dim", 1, 1 << 20) ?? throw f.Missing("dim");
        int heads = f.Int("n_heads", 1, dim) ?? throw f.Missing("n_heads");
        if (dim % heads != 0) throw f.Bad("n_heads", $"{heads} does not divide dim {dim}");
        int kvHeads = f.Int("n_kv_heads", 1, heads) ?? heads;
        if (heads % kvHeads != 0) throw f.Bad("n_kv_heads", $"{kvHeads} does not divide n_heads {heads}");
        int vocab = f.Int("vocab_size", -1, 1 << 24) ?? -1;
        if (vocab == 0) throw f.Bad("vocab_size", "0 (expected -1 or a vocabulary size)");
        return new MetaParams
        {
            Dim = dim,
            LayerCount = f.Int("n_layers", 1, 4096) ?? throw f.Missing("n_layers"),
            HeadCount = heads,
            KvHeadCount = kvHeads,
            VocabSize = vocab,
            MultipleOf = f.Int("multiple_of", 1, 1 << 20) ?? 256,
            FfnDimMultiplier = f.Number("ffn_dim_multiplier", 0, 64),
            NormEps = f.Number("norm_eps", 0, 1) ?? 1e-5,
            RopeTheta = f.Number("rope_theta", 0, 1e12) ?? 10000,
            UseScaledRope = f.Bool("use_scaled_rope") ?? false,
            MaxSeqLen = f.Int("max_seq_len", 1, 1 << 24),
        };
    }

    /// <summary>Typed, range-checked access to the fields; absent or null gives null (the default applies).</summary>
    private readonly struct Fields(JsonElement root, string source)
    {
        public ModelFormatException Missing(string name) => new($"{source}: required field '{name}' is missing");
        public ModelFormatException Bad(string name, string what) => new($"{source}: '{name}' = {what}");

        private JsonElement? Get(string name) =>
            root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

        public int? Int(string name, int min, int max)
        {
            if (Get(name) is not JsonElement e) return null;
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long v)) throw Bad(name, $"{Raw(e)}, which is not an integer");
            if (v < min || v > max) throw Bad(name, $"{v}, outside [{min}, {max}]");
            return (int)v;
        }

        // A number in the open-closed range (min, max].
        public double? Number(string name, double min, double max)
        {
            if (Get(name) is not JsonElement e) return null;
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double v) || !double.IsFinite(v)) throw Bad(name, $"{Raw(e)}, which is not a number");
            if (v <= min || v > max) throw Bad(name, $"{v}, outside ({min}, {max}]");
            return v;
        }

        private static string Raw(JsonElement e)
        {
            string text = e.GetRawText();
            return text.Length <= 40 ? text : text[..40] + "…";
        }

        public bool? Bool(string name)
        {
            if (Get(name) is not JsonElement e) return null;
            return e.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Bad(name, $"{Raw(e)}, which is not true or false"),
            };
        }
    }
}
