using Cria.Formats.Gguf;
using Cria.Tests.Infrastructure;
using Cria.Tokenization;

namespace Cria.Tests.Tokenization;

/// <summary>The tokenizers under test, each loaded once per test run.</summary>
internal static class TestTokenizers
{
    public const string Llama2Bin = "llama2.c tokenizer.bin";
    public const string Llama2Gguf = "llama.cpp vocab GGUF";
    public const string Llama2ModelGguf = "tiny random model GGUF";
    public const string Tok512Bin = "tok512.bin";
    public const string Tok512Gguf = "stories260K GGUF";

    /// <summary>The two Llama 2 loaders every Llama 2 vector runs through.</summary>
    public static readonly string[] Llama2Loaders = [Llama2Bin, Llama2Gguf];

    private static readonly Dictionary<string, Lazy<SentencePieceTokenizer>> Loaded = new()
    {
        [Llama2Bin] = new(() => SentencePieceTokenizer.FromLlama2cFile(TestAssets.Path("llama2-tokenizer/tokenizer.bin"))),
        [Llama2Gguf] = new(() => FromGguf("llamacpp-vocab/ggml-vocab-llama-spm.gguf")),
        [Llama2ModelGguf] = new(() => FromGguf("llama2-tiny-random-gguf/llama-2-tiny-random.gguf")),
        [Tok512Bin] = new(() => SentencePieceTokenizer.FromLlama2cFile(TestAssets.Path("stories260K/tok512.bin"))),
        [Tok512Gguf] = new(() => FromGguf("stories260K-gguf/stories260K-f32.gguf")),
    };

    public static SentencePieceTokenizer Get(string name) => Loaded[name].Value;

    public static SentencePieceTokenizer FromGguf(string relativePath)
    {
        using var file = GgufFile.Open(TestAssets.Path(relativePath));
        return SentencePieceTokenizer.FromGguf(file);
    }
}
