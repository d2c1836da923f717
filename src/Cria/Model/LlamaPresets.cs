namespace Cria.Model;

/// <summary>The published shapes of the Llama family and its well-known derivatives (from the papers, Meta's
/// params.json / Hugging Face config.json of each release, and llama2.c's model cards).</summary>
public static class LlamaPresets
{
    private static LlamaConfig Shape(int dim, int layers, int heads, int kvHeads, int hidden, int vocab, int context,
        float eps = 1e-5f, float theta = 10000f, bool tied = false, RopeScaling? scaling = null, int headDim = 0) => new LlamaConfig
    {
        Dim = dim, LayerCount = layers, HeadCount = heads, KvHeadCount = kvHeads, HiddenDim = hidden, VocabSize = vocab,
        ContextLength = context, RmsEps = eps, RopeTheta = theta, TiedOutput = tied, RopeScaling = scaling ?? RopeScaling.None, HeadDim = headDim,
    }.Validated("preset");

    private static RopeScaling Llama3Scaling(double factor) => new(RopeScalingKind.Llama3, factor, 1, 4, 8192);

    public static readonly IReadOnlyDictionary<string, LlamaConfig> All = new Dictionary<string, LlamaConfig>(StringComparer.OrdinalIgnoreCase)
    {
        ["llama-7b"] = Shape(4096, 32, 32, 32, 11008, 32000, 2048, eps: 1e-6f),
        ["llama-13b"] = Shape(5120, 40, 40, 40, 13824, 32000, 2048, eps: 1e-6f),
        ["llama-33b"] = Shape(6656, 60, 52, 52, 17920, 32000, 2048, eps: 1e-6f),
        ["llama-65b"] = Shape(8192, 80, 64, 64, 22016, 32000, 2048, eps: 1e-5f),
        ["llama-2-7b"] = Shape(4096, 32, 32, 32, 11008, 32000, 4096),
        ["llama-2-13b"] = Shape(5120, 40, 40, 40, 13824, 32000, 4096),
        ["llama-2-70b"] = Shape(8192, 80, 64, 8, 28672, 32000, 4096),
        ["llama-3-8b"] = Shape(4096, 32, 32, 8, 14336, 128256, 8192, theta: 500000f),
        ["llama-3-70b"] = Shape(8192, 80, 64, 8, 28672, 128256, 8192, theta: 500000f),
        ["llama-3.1-8b"] = Shape(4096, 32, 32, 8, 14336, 128256, 131072, theta: 500000f, scaling: Llama3Scaling(8)),
        ["llama-3.2-1b"] = Shape(2048, 16, 32, 8, 8192, 128256, 131072, theta: 500000f, tied: true, scaling: Llama3Scaling(32)),
        ["llama-3.2-3b"] = Shape(3072, 28, 24, 8, 8192, 128256, 131072, theta: 500000f, tied: true, scaling: Llama3Scaling(32), headDim: 128),
        ["tinyllama-1.1b"] = Shape(2048, 22, 32, 4, 5632, 32000, 2048),
        ["stories15M"] = Shape(288, 6, 6, 6, 768, 32000, 256),
        ["stories42M"] = Shape(512, 8, 8, 8, 1376, 32000, 1024),
        ["stories110M"] = Shape(768, 12, 12, 12, 2048, 32000, 1024),
        ["stories260K"] = Shape(64, 5, 8, 4, 172, 512, 512),
    };

    public static LlamaConfig Get(string name) =>
        All.TryGetValue(name, out var config) ? config : throw new CriaException($"unknown preset '{name}' (known: {string.Join(", ", All.Keys)})");

    /// <summary>Parameter count of a model of this shape (embedding, layers, norms, output unless tied).</summary>
    public static long ParameterCount(LlamaConfig c)
    {
        long perLayer = (long)c.Dim * (c.QueryDim + 2L * c.KvDim) + (long)c.QueryDim * c.Dim + 3L * c.Dim * c.HiddenDim + 2L * c.Dim;
        return (long)c.VocabSize * c.Dim * (c.TiedOutput ? 1 : 2) + c.LayerCount * perLayer + c.Dim;
    }
}
