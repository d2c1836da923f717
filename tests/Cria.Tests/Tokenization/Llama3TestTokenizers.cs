using System.Text.Json;
using System.Text.Json.Nodes;
using Cria.Formats.Gguf;
using Cria.Tests.Infrastructure;
using Cria.Tokenization;

namespace Cria.Tests.Tokenization;

/// <summary>The Llama 3 tokenizer through each of its loaders, each loaded once per test run. The GGUF and the
/// 3.1-named tokenizer.json are written here (from the shared assets) into a folder deleted at process exit.</summary>
internal static class Llama3TestTokenizers
{
    public const string Model = "tokenizer.model";
    public const string Json = "tokenizer.json";
    public const string Gguf = "GGUF written by ToGgufMetadata";
    public const string Json31 = "tokenizer.json renamed to the 3.1 names";
    public const string GgufFromJson = "GGUF written from tokenizer.json";

    /// <summary>Every loader; the ordinary-text vectors run through each.</summary>
    public static readonly string[] All = [Model, Json, Gguf, Json31, GgufFromJson];

    /// <summary>The loaders whose special tokens carry Llama 3.1's names (for the special-token parsing cases).</summary>
    public static readonly string[] WithLlama31Names = [Model, Gguf, Json31];

    public static string ModelPath => TestAssets.Path("llama3-tokenizer/tokenizer.model");
    public static string JsonPath => TestAssets.Path("llama3-tokenizer/hf/tokenizer.json");

    private static readonly Lazy<string> Folder = new(() =>
    {
        string path = Path.Combine(Path.GetTempPath(), $"cria-llama3-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(path, recursive: true); }
            catch (IOException) { }
        };
        return path;
    });

    private static readonly Dictionary<string, Lazy<TiktokenTokenizer>> Loaded = new()
    {
        [Model] = new(() => TiktokenTokenizer.FromTiktokenFile(ModelPath)),
        [Json] = new(() => TiktokenTokenizer.FromHuggingFace(JsonPath)),
        [Gguf] = new(() => ReloadGguf(Get(Model), "from-model.gguf")),
        [Json31] = new(() => TiktokenTokenizer.FromHuggingFace(WriteJsonWithNames(Llama3SpecialTokens.Names(Llama3SpecialTokenNames.Llama3_1), "llama3_1"))),
        [GgufFromJson] = new(() => ReloadGguf(Get(Json), "from-json.gguf")),
    };

    public static TiktokenTokenizer Get(string name) => Loaded[name].Value;

    /// <summary>A path in the per-run scratch folder.</summary>
    public static string ScratchPath(string name) => Path.Combine(Folder.Value, name);

    /// <summary>Writes a vocabulary-only GGUF (llama architecture, as llama.cpp's ggml-vocab files) and loads it back.</summary>
    public static TiktokenTokenizer ReloadGguf(TiktokenTokenizer source, string fileName)
    {
        string path = VocabOnlyGguf.Write(source, ScratchPath(fileName));
        using var file = GgufFile.Open(path);
        return (TiktokenTokenizer)TokenizerLoader.FromGguf(file.Metadata, path);
    }

    /// <summary>A copy of the shared tokenizer.json whose 256 added tokens carry <paramref name="names"/> (and a matching config).</summary>
    public static string WriteJsonWithNames(string[] names, string folderName)
    {
        string folder = ScratchPath(folderName);
        Directory.CreateDirectory(folder);
        JsonNode root = JsonNode.Parse(File.ReadAllText(JsonPath))!;
        foreach (JsonNode? token in root["added_tokens"]!.AsArray())
            token!["content"] = names[token["id"]!.GetValue<int>() - 128000];
        string path = Path.Combine(folder, "tokenizer.json");
        File.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        JsonNode config = JsonNode.Parse(File.ReadAllText(TestAssets.Path("llama3-tokenizer/hf/tokenizer_config.json")))!;
        foreach (var (id, entry) in config["added_tokens_decoder"]!.AsObject())
            entry!["content"] = names[int.Parse(id) - 128000];
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), config.ToJsonString());
        return path;
    }
}
