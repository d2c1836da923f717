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
        if (GgufByteLevelBpeLoader.IsByteLevelBpe(metadata)) return TiktokenTokenizer.FromGguf(metadata, path);
        return SentencePieceTokenizer.FromGguf(metadata, path);
    }

    /// <summary>A tokenizer file, told apart by content: a GGUF (vocabulary-only or a model), Llama 3's tiktoken
    /// <c>tokenizer.model</c> or byte-level BPE <c>tokenizer.json</c>, a sentencepiece <c>tokenizer.model</c>, a Llama-2-style
    /// <c>tokenizer.json</c>, or llama2.c's tokenizer.bin format; or a folder holding tokenizer.json / tokenizer.model.</summary>
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
        if (ByteLevelBpeFiles.TryRead(path, expectedVocabSize, out TiktokenTokenizer? llama3)) return llama3!;
        if (SentencePieceFiles.TryLoad(path, expectedVocabSize) is { } sentencePiece) return sentencePiece;
        string extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension is ".model" or ".json")
            throw new CriaException($"tokenizer '{path}' is neither a sentencepiece nor a Llama 3 tokenizer file Cria recognises");
        return SentencePieceTokenizer.FromLlama2cFile(path, expectedVocabSize);
    }
}
