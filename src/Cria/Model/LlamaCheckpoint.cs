using Cria.Formats.Gguf;
using Cria.IO;
using Cria.Tensors;
using Cria.Tokenization;

namespace Cria.Model;

/// <summary>What every file layout reads into: a configuration, the tensors in their stored types (in place in memory
/// maps, named the GGUF way whatever the file calls them), the tokenizer when the layout carries one, and metadata
/// worth keeping on conversion. A <see cref="LlamaModel"/> is built from it; converters write it out.</summary>
public sealed class LlamaCheckpoint : IDisposable
{
    private readonly Dictionary<string, TensorData> _byName;
    private readonly IDisposable[] _owned;

    /// <summary>The layout, e.g. "GGUF v3", "llama2.c (legacy)", "Meta", "Hugging Face".</summary>
    public string Format { get; }
    /// <summary>How the file names tensors: "GGUF", "Meta" or "Hugging Face".</summary>
    public string Naming { get; }
    public string Path { get; }
    public LlamaConfig Config { get; }
    /// <summary>Tensors in the order the file stores them.</summary>
    public IReadOnlyList<TensorData> Tensors { get; }
    public Tokenizer? Tokenizer { get; }
    /// <summary>Descriptive metadata in GGUF keys (general.name, tokenizer.chat_template …) to carry into conversions.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> Metadata { get; }
    /// <summary>The single file map every tensor points into, where there is one (GGUF): matrices to repack are then read
    /// from the file itself, so the map's pages of those tensors are never touched.</summary>
    internal MappedFile? Mapping { get; init; }

    public LlamaCheckpoint(string format, string naming, string path, LlamaConfig config, IReadOnlyList<TensorData> tensors,
        Tokenizer? tokenizer, IReadOnlyList<KeyValuePair<string, GgufValue>>? metadata, params IDisposable[] owned)
    {
        Format = format;
        Naming = naming;
        Path = path;
        Config = config;
        Tensors = tensors;
        Tokenizer = tokenizer;
        Metadata = metadata ?? [];
        _owned = owned;
        _byName = new Dictionary<string, TensorData>(tensors.Count);
        foreach (var t in tensors)
            if (!_byName.TryAdd(t.Name, t)) throw new ModelFormatException($"{format} '{path}': tensor '{t.Name}' appears twice");
    }

    public bool TryGetTensor(string name, out TensorData tensor) => _byName.TryGetValue(name, out tensor!);

    public TensorData Tensor(string name) =>
        _byName.TryGetValue(name, out var t) ? t : throw new ModelFormatException($"{Format} '{Path}': tensor '{name}' is missing");

    public string Description => $"{Format} '{Path}'";

    public void Dispose()
    {
        foreach (var d in _owned) d.Dispose();
    }
}
