using Cria.Model;
using Cria.Tensors;
using Cria.Tokenization;

namespace Cria.Formats.Gguf;

/// <summary>Reads a GGUF file as a <see cref="LlamaCheckpoint"/>: config from <c>llama.*</c> metadata, tensors in place.</summary>
public static unsafe class GgufCheckpointReader
{
    public static LlamaCheckpoint Open(string path)
    {
        var file = GgufFile.Open(path);
        try
        {
            var config = GgufConfigReader.ReadConfig(file);
            var tensors = file.Tensors.Select(t => TensorData.Contiguous(t.Name, t.Name, t.Type, t.Dimensions, file.TensorData(t))).ToList();
            Tokenizer? tokenizer = file.Metadata.Contains("tokenizer.ggml.model") ? TokenizerLoader.FromGguf(file.Metadata, path) : null;
            // Everything but the hyper-parameters and tokenizer, which writers derive from the config and tokenizer.
            var metadata = file.Metadata.Entries
                .Where(e => !e.Key.StartsWith("llama.", StringComparison.Ordinal) && !e.Key.StartsWith("tokenizer.ggml.", StringComparison.Ordinal)
                            && e.Key is not ("general.architecture" or "general.alignment" or "general.file_type" or "general.quantization_version"))
                .ToList();
            // The checkpoint owns the map, not the GgufFile: the vocabulary's strings in its metadata (~6 MB for Llama 3),
            // now in the tokenizer, are then not held for the model's life.
            return new LlamaCheckpoint($"GGUF v{file.Version}", "GGUF", path, config, tensors, tokenizer, metadata, file.Mapping) { Mapping = file.Mapping };
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }
}
