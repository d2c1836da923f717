namespace Cria.Tokenization;

/// <summary>Token types as SentencePiece and GGUF (<c>tokenizer.ggml.token_type</c>) number them.</summary>
public enum TokenType
{
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}
