using Cria.Formats.Gguf;

namespace Cria.Tokenization;

/// <summary>Loads the tokenizer of a GGUF file, or a tokenizer file the user names.</summary>
public static class TokenizerLoader
{
    /// <summary>The tokenizer stored in a GGUF file's <c>tokenizer.ggml.*</c> metadata.</summary>
    public static Tokenizer FromGguf(GgufMetadata metadata, string path)
    {
        if (metadata.GetString("tokenizer.ggml.model") is null)
            throw new ModelFormatException($"GGUF '{path}' holds no tokenizer (no tokenizer.ggml.model); pass --tokenizer PATH");
        return SentencePieceTokenizer.FromGguf(metadata, path);
    }

    /// <summary>A tokenizer file: a GGUF (vocabulary-only or a model), a sentencepiece tokenizer.model, a Llama-2-style
    /// tokenizer.json, or llama2.c's tokenizer.bin format; or a folder holding tokenizer.json / tokenizer.model.</summary>
    /// <param name="expectedVocabSize">The model's vocabulary size, checked against the file when known.</param>
    public static Tokenizer FromFile(string path, int? expectedVocabSize = null)
    {
        path = TokenizerFolder.Resolve(path);
        if (!File.Exists(path)) throw new CriaException($"tokenizer file not found: '{path}'");
        if (GgufFile.HasMagic(path))
        {
            using var file = GgufFile.Open(path);
            return FromGguf(file.Metadata, path);
        }
        if (SentencePieceFiles.TryLoad(path, expectedVocabSize) is { } sentencePiece) return sentencePiece;
        string extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension is ".model" or ".json")
            throw new CriaException($"tokenizer '{path}': Llama 3's tiktoken tokenizer.model and byte-level tokenizer.json are not supported yet");
        return SentencePieceTokenizer.FromLlama2cFile(path, expectedVocabSize);
    }
}
