using Cria.Tokenization;

namespace Cria.Model;

/// <summary>A loaded Llama model: configuration, weights (memory-mapped, in their stored types) and its tokenizer.
/// Create a <see cref="LlamaContext"/> to run it.</summary>
public sealed class LlamaModel : IDisposable
{
    private readonly IDisposable[] _owned;

    public LlamaConfig Config { get; }
    public LlamaWeights Weights { get; }
    public Tokenizer? Tokenizer { get; }
    /// <summary>Where the model came from, e.g. "GGUF v3 'model.gguf'".</summary>
    public string Source { get; }

    public LlamaModel(LlamaConfig config, LlamaWeights weights, Tokenizer? tokenizer, string source, params IDisposable[] owned)
    {
        Config = config;
        Weights = weights;
        Tokenizer = tokenizer;
        Source = source;
        _owned = owned;
    }

    /// <summary>Opens a model file: GGUF or a llama2.c checkpoint (then <paramref name="tokenizerPath"/>, or a
    /// tokenizer.bin / tok{vocab}.bin beside it). A tokenizer path given for a GGUF file replaces its own.</summary>
    /// <param name="repack">Repack the matrices this machine multiplies faster in another layout (the default: decode
    /// is faster, loading takes longer); false leaves every matrix in the file's pages, as llama.cpp's --no-repack.</param>
    public static LlamaModel Load(string path, string? tokenizerPath = null, bool repack = true) => ModelLoader.Load(path, tokenizerPath, repack);

    public void Dispose()
    {
        foreach (var d in _owned) d.Dispose();
    }
}
