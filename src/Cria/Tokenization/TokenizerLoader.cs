using Cria.Formats.Gguf;

namespace Cria.Tokenization;

/// <summary>Loads the tokenizer of a GGUF file, or a tokenizer file the user names.</summary>
public static class TokenizerLoader
{
    public static Tokenizer FromGguf(GgufMetadata metadata, string path) =>
        throw new CriaException("tokenizer loading is being built");

    public static Tokenizer FromFile(string path) =>
        throw new CriaException("tokenizer loading is being built");
}
