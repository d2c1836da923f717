using System.Text.Json;
using System.Text.Json.Nodes;
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
    public const string Llama2Model = "sentencepiece tokenizer.model";
    public const string Llama2HfJson = "HF tokenizer.json (LlamaConverter)";
    public const string Tok512Bin = "tok512.bin";
    public const string Tok512Gguf = "stories260K GGUF";
    public const string Tok512Model = "tok512.model";

    /// <summary>The Llama 2 loaders every Llama 2 vector runs through: llama2.c's tokenizer.bin, llama.cpp's GGUF, Meta's
    /// sentencepiece tokenizer.model, and a Hugging Face tokenizer.json converted from it as transformers does.</summary>
    public static readonly string[] Llama2Loaders = [Llama2Bin, Llama2Gguf, Llama2Model, Llama2HfJson];

    private static readonly Lazy<SentencePieceModelProto> Llama2Proto = new(() =>
        SentencePieceModelReader.ParseProto(File.ReadAllBytes(TestAssets.Path("llama2-tokenizer/tokenizer.model")), "tokenizer.model"));

    private static readonly Dictionary<string, Lazy<SentencePieceTokenizer>> Loaded = new()
    {
        [Llama2Bin] = new(() => SentencePieceTokenizer.FromLlama2cFile(TestAssets.Path("llama2-tokenizer/tokenizer.bin"))),
        [Llama2Gguf] = new(() => FromGguf("llamacpp-vocab/ggml-vocab-llama-spm.gguf")),
        [Llama2ModelGguf] = new(() => FromGguf("llama2-tiny-random-gguf/llama-2-tiny-random.gguf")),
        [Llama2Model] = new(() => SentencePieceTokenizer.FromSentencePieceModel(TestAssets.Path("llama2-tokenizer/tokenizer.model"))),
        [Llama2HfJson] = new(() => FromHfJson(Llama2HfTokenizerJson(), HfLlamaConverter.TokenizerConfig())),
        [Tok512Bin] = new(() => SentencePieceTokenizer.FromLlama2cFile(TestAssets.Path("stories260K/tok512.bin"))),
        [Tok512Gguf] = new(() => FromGguf("stories260K-gguf/stories260K-f32.gguf")),
        [Tok512Model] = new(() => SentencePieceTokenizer.FromSentencePieceModel(TestAssets.Path("stories260K/tok512.model"))),
    };

    public static SentencePieceTokenizer Get(string name) => Loaded[name].Value;

    /// <summary>Meta's Llama 2 tokenizer.model as parsed by the protobuf reader.</summary>
    public static SentencePieceModelProto Llama2ModelProto => Llama2Proto.Value;

    /// <summary>The Llama 2 tokenizer.json LlamaConverter would write (legacy: Prepend + Replace normaliser).</summary>
    public static JsonObject Llama2HfTokenizerJson(bool legacy = true, bool mergesAsPairs = false)
    {
        // Converting takes a second; each caller gets its own copy to edit.
        string json;
        lock (ConvertedJson)
        {
            if (!ConvertedJson.TryGetValue((legacy, mergesAsPairs), out json!))
                ConvertedJson[(legacy, mergesAsPairs)] = json = HfLlamaConverter.TokenizerJson(
                    Llama2ModelProto.Pieces, Llama2ModelProto.Scores, Llama2ModelProto.Types, legacy, mergesAsPairs).ToJsonString();
        }
        return JsonNode.Parse(json)!.AsObject();
    }

    private static readonly Dictionary<(bool, bool), string> ConvertedJson = [];

    /// <summary>Loads a tokenizer.json held in memory, as the file loader would.</summary>
    public static SentencePieceTokenizer FromHfJson(JsonNode tokenizer, JsonNode? config, string source = "tokenizer.json")
    {
        JsonElement root = JsonSerializer.SerializeToElement(tokenizer);
        JsonElement? configElement = config == null ? null : JsonSerializer.SerializeToElement(config);
        return HuggingFaceSentencePieceLoader.Build(root, configElement, source, expectedVocabSize: null)
            ?? throw new InvalidOperationException("byte-level tokenizer.json");
    }

    public static SentencePieceTokenizer FromGguf(string relativePath)
    {
        using var file = GgufFile.Open(TestAssets.Path(relativePath));
        return SentencePieceTokenizer.FromGguf(file);
    }
}
