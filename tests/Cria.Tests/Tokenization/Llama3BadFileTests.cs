using System.Text;
using System.Text.Json.Nodes;
using Cria.Formats.Gguf;
using Cria.Tests.Formats.Gguf.Support;
using Cria.Tokenization;

namespace Cria.Tests.Tokenization;

/// <summary>Malformed Llama 3 tokenizer files give a clear error naming the file and what is wrong (the line, the
/// key, the token), never a crash or a silently different tokenizer. Small synthetic vocabularies: the 256 bytes
/// (rank = byte) and "ab" (rank 256).</summary>
public sealed class Llama3BadFileTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    // ---- tiktoken tokenizer.model ----

    private static List<string> TiktokenLines()
    {
        var lines = new List<string>();
        for (int b = 0; b < 256; b++) lines.Add($"{Convert.ToBase64String([(byte)b])} {b}");
        lines.Add("YWI= 256"); // "ab"
        return lines;
    }

    private string WriteLines(IEnumerable<string> lines) => _dir.Write("tokenizer.model", Encoding.ASCII.GetBytes(string.Join("\n", lines) + "\n"));

    [Fact]
    public void SmallTiktokenFileLoads()
    {
        var t = TiktokenTokenizer.FromTiktokenFile(WriteLines(TiktokenLines()));
        Assert.Equal((257 + 256, 257, 258), (t.VocabSize, t.BosId, t.EosId));
        Assert.Equal([256, 99], t.Encode("abc", addBos: false));
        Assert.Equal([257, 256, 258], t.Encode("ab", addBos: true, addEos: true));
        Assert.Equal(["a b"], new GgufMetadata(t.ToGgufMetadata()).GetArray<string>("tokenizer.ggml.merges")!);
    }

    [Theory]
    [InlineData("gap", "rank 256 is missing")]
    [InlineData("duplicate rank", "line 258 repeats rank 5 of line 6")]
    [InlineData("duplicate token", "line 258 repeats the token of line 257 (YWI=)")]
    [InlineData("bad base64", "line 258: '!!!!' is not valid base64")]
    [InlineData("text rank", "line 258: rank 'x1' is not a non-negative integer")]
    [InlineData("negative rank", "line 258: rank '-3' is not a non-negative integer")]
    [InlineData("signed rank", "line 258: rank '+3' is not a non-negative integer")]
    [InlineData("three fields", "line 258 is not 'base64 rank': 'YWJj 257 x'")]
    [InlineData("no rank", "line 258 is not 'base64 rank': 'YWJj'")]
    [InlineData("huge rank", "line 258: rank 2000000000 is beyond the number of lines")]
    [InlineData("missing byte", "no token is the single byte 0x41")]
    public void MalformedTiktokenFilesNameTheLine(string defect, string message)
    {
        List<string> lines = TiktokenLines();
        switch (defect)
        {
            case "gap": lines[256] = "YWI= 257"; break;
            case "duplicate rank": lines.Add("YWJj 5"); break;
            case "duplicate token": lines.Add("YWI= 257"); break;
            case "bad base64": lines.Add("!!!! 257"); break;
            case "text rank": lines.Add("YWJj x1"); break;
            case "negative rank": lines.Add("YWJj -3"); break;
            case "signed rank": lines.Add("YWJj +3"); break;
            case "three fields": lines.Add("YWJj 257 x"); break;
            case "no rank": lines.Add("YWJj"); break;
            case "huge rank": lines.Add("YWJj 2000000000"); break;
            case "missing byte": lines[0x41] = "YWJj 65"; break; // "abc" in place of "A"
        }
        string path = WriteLines(lines);
        var e = Assert.Throws<ModelFormatException>(() => TiktokenTokenizer.FromTiktokenFile(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), e.Message);
    }

    [Fact]
    public void EmptyOrMissingTiktokenFile()
    {
        string empty = _dir.Write("empty.model", "\n\n"u8);
        Assert.Contains("no tokens", Assert.Throws<ModelFormatException>(() => TiktokenTokenizer.FromTiktokenFile(empty)).Message);
        Assert.Contains("not found", Assert.ThrowsAny<CriaException>(() => TiktokenTokenizer.FromTiktokenFile(_dir.File("none.model"))).Message);
    }

    // ---- Hugging Face tokenizer.json ----

    private static JsonObject Json()
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteLevelAlphabet.Spell([(byte)b])] = b;
        vocab["ab"] = 256;
        return new JsonObject
        {
            ["added_tokens"] = new JsonArray(new JsonObject { ["id"] = 257, ["content"] = "<|x|>", ["special"] = true }),
            ["normalizer"] = null,
            ["pre_tokenizer"] = JsonNode.Parse($$"""
                {"type": "Sequence", "pretokenizers": [
                  {"type": "Split", "pattern": {"Regex": {{System.Text.Json.JsonSerializer.Serialize(Llama3PreTokenizer.Pattern)}}}, "behavior": "Isolated", "invert": false},
                  {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}
                """),
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject { ["type"] = "BPE", ["ignore_merges"] = true, ["vocab"] = vocab, ["merges"] = new JsonArray("a b") },
        };
    }

    private string WriteJson(JsonNode json, JsonNode? config = null, string folder = "hf")
    {
        string dir = Path.Combine(_dir.Path, folder);
        Directory.CreateDirectory(dir);
        if (config != null) File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config.ToJsonString());
        string path = Path.Combine(dir, "tokenizer.json");
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    [Fact]
    public void SmallTokenizerJsonLoads()
    {
        var config = new JsonObject { ["bos_token"] = "<|x|>", ["eos_token"] = new JsonObject { ["content"] = "<|x|>" }, ["add_bos_token"] = false, ["chat_template"] = "T" };
        var t = TiktokenTokenizer.FromHuggingFace(WriteJson(Json(), config));
        Assert.Equal((258, 257, 257, false, "T"), (t.VocabSize, t.BosId, t.EosId, t.AddBos, t.ChatTemplate));
        Assert.Equal([256, 257, 99], t.Encode("ab<|x|>c", addBos: false, parseSpecial: true));
        var merges = Json();
        merges["model"]!["merges"] = new JsonArray(new JsonArray("a", "b")); // the newer form: pairs
        Assert.Equal([256], TiktokenTokenizer.FromHuggingFace(WriteJson(merges, folder: "pairs")).Encode("ab", addBos: false));
    }

    [Theory]
    [InlineData("model type", "model.type is 'Unigram'")]
    [InlineData("no model", "'model' is missing or not an object")]
    [InlineData("pattern", "is not Llama 3's")]
    [InlineData("no pre-tokenizer", "pre_tokenizer (missing) is not Llama 3's")]
    [InlineData("prefix space", "is not Llama 3's")]
    [InlineData("normalizer", "normalizer {\"type\":\"NFC\"} is not supported")]
    [InlineData("byte fallback", "byte_fallback is true")]
    [InlineData("merge order", "model.merges[0] is 'b a' but the vocabulary's ranks imply 'a b'")]
    [InlineData("merge missing", "model.merges has 0 merges but the vocabulary's ranks imply 1")]
    [InlineData("merge extra", "more than the 1 merges the vocabulary's ranks imply (extra: 'a c')")]
    [InlineData("merge form", "model.merges[0] 'ab' is not two tokens separated by a space")]
    [InlineData("vocab gap", "model.vocab has no token with id 5")]
    [InlineData("vocab char", "model.vocab token 'a b' (id 256) has U+0020, which is not a byte-level character")]
    [InlineData("vocab id", "model.vocab['ab'] = \"x\" is not a token id")]
    [InlineData("vocab duplicate", "model.vocab gives id 256 to both")]
    [InlineData("same bytes", "tokens 97 and 257 have the same bytes (61)")]
    [InlineData("missing byte", "no token is the single byte 0x41")]
    [InlineData("added inside", "added token '<|x|>' has id 3, inside the BPE vocabulary")]
    [InlineData("added gap", "id 257 is missing before '<|x|>' (300)")]
    [InlineData("added no content", "has no id or content")]
    [InlineData("added lstrip", "added token '<|x|>' has lstrip set, which is not supported")]
    public void MalformedTokenizerJsonNamesTheProblem(string defect, string message)
    {
        JsonObject json = Json();
        JsonObject model = json["model"]!.AsObject();
        JsonObject vocab = model["vocab"]!.AsObject();
        switch (defect)
        {
            case "model type": model["type"] = "Unigram"; break;
            case "no model": json.Remove("model"); break;
            case "pattern": json["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"] = "\\s+"; break;
            case "no pre-tokenizer": json.Remove("pre_tokenizer"); break;
            case "prefix space": json["pre_tokenizer"]!["pretokenizers"]![1]!["add_prefix_space"] = true; break;
            case "normalizer": json["normalizer"] = new JsonObject { ["type"] = "NFC" }; break;
            case "byte fallback": model["byte_fallback"] = true; break;
            case "merge order": model["merges"] = new JsonArray("b a"); break;
            case "merge missing": model["merges"] = new JsonArray(); break;
            case "merge extra": model["merges"] = new JsonArray("a b", "a c"); break;
            case "merge form": model["merges"] = new JsonArray("ab"); break;
            case "vocab gap": vocab.Remove(ByteLevelAlphabet.Spell([5])); break;
            case "vocab char": vocab.Remove("ab"); vocab["a b"] = 256; break;
            case "vocab id": vocab["ab"] = "x"; break;
            case "vocab duplicate": vocab["abc"] = 256; break;
            case "same bytes": // a JSON object may repeat a name; both entries are read
                json["added_tokens"]![0]!["id"] = 258;
                json = JsonNode.Parse(json.ToJsonString().Replace("\"ab\":256", "\"ab\":256,\"a\":257"))!.AsObject();
                break;
            case "missing byte": vocab.Remove("A"); vocab["abc"] = 0x41; model["merges"] = new JsonArray("a b"); break;
            case "added inside": json["added_tokens"]![0]!["id"] = 3; break;
            case "added gap": json["added_tokens"]![0]!["id"] = 300; break;
            case "added no content": json["added_tokens"]![0]!.AsObject().Remove("content"); break;
            case "added lstrip": json["added_tokens"]![0]!["lstrip"] = true; break;
        }
        string path = WriteJson(json);
        var e = Assert.Throws<ModelFormatException>(() => TiktokenTokenizer.FromHuggingFace(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), e.Message);
    }

    [Fact]
    public void MalformedJsonAndConfigAreNamed()
    {
        string truncated = WriteJson(Json());
        File.WriteAllText(truncated, File.ReadAllText(truncated)[..2000]);
        var e = Assert.Throws<ModelFormatException>(() => TiktokenTokenizer.FromHuggingFace(truncated));
        Assert.StartsWith(truncated + ": malformed JSON (line 1", e.Message);
        Assert.Throws<ModelFormatException>(() => TokenizerLoader.FromFile(truncated)); // detected as JSON, then reported

        foreach (var (config, message) in new (string, string)[]
                 {
                     ("""{"eos_token": "<|nope|>"}""", "eos_token '<|nope|>' is not an added token"),
                     ("""{"bos_token": "<|nope|>"}""", "bos_token '<|nope|>' is not an added token"),
                     ("""{"add_bos_token": "yes"}""", "add_bos_token is \"yes\", not true or false"),
                     ("""{"added_tokens_decoder": {"257": {"content": "<|y|>"}}}""", "names id 257 '<|y|>' but tokenizer.json has '<|x|>'"),
                     ("""{"chat_template": 5}""", "chat_template is neither a string nor a list"),
                     ("""{"eos_token": """, "malformed JSON"),
                 })
        {
            string folder = Guid.NewGuid().ToString("N");
            string path = WriteJson(Json(), folder: folder);
            string configPath = Path.Combine(_dir.Path, folder, "tokenizer_config.json");
            File.WriteAllText(configPath, config);
            var error = Assert.Throws<ModelFormatException>(() => TiktokenTokenizer.FromHuggingFace(path));
            Assert.StartsWith(configPath + ": ", error.Message);
            Assert.True(error.Message.Contains(message, StringComparison.Ordinal), error.Message);
        }
    }

    // ---- GGUF ----

    private static List<KeyValuePair<string, GgufValue>> Gguf()
    {
        string path = Path.Combine(Path.GetTempPath(), $"cria-small-{Guid.NewGuid():N}.model");
        try
        {
            File.WriteAllText(path, string.Join("\n", TiktokenLines()));
            return [.. TiktokenTokenizer.FromTiktokenFile(path).ToGgufMetadata()];
        }
        finally { File.Delete(path); }
    }

    /// <summary>llama.cpp's converter pads a vocabulary to the model's size with "[PAD{id}]" tokens of type unused (5).</summary>
    [Fact]
    public void PaddedGgufVocabularyLoads()
    {
        var entries = Gguf();
        int tokens = entries.FindIndex(e => e.Key == "tokenizer.ggml.tokens"), types = entries.FindIndex(e => e.Key == "tokenizer.ggml.token_type");
        entries[tokens] = new(entries[tokens].Key, GgufValue.OfArray([.. (string[])((GgufArray)entries[tokens].Value.Value).Items, "[PAD513]"]));
        entries[types] = new(entries[types].Key, GgufValue.OfArray([.. (int[])((GgufArray)entries[types].Value.Value).Items, 5]));
        var t = (TiktokenTokenizer)TokenizerLoader.FromGguf(new GgufMetadata(entries), "padded.gguf");
        Assert.Equal((514, TokenType.Unused), (t.VocabSize, t.GetTokenType(513)));
        Assert.Equal("", t.Decode([513]));
        Assert.Equal("[PAD513]", t.Decode([513], showSpecial: true));
        Assert.DoesNotContain(513, t.Encode("[PAD513]", addBos: false, parseSpecial: true));
    }

    [Theory]
    [InlineData("pre", "default", "tokenizer.ggml.pre is 'default'; only Llama 3's pre-tokenizer ('llama-bpe') is supported")]
    [InlineData("pre", null, "tokenizer.ggml.pre is 'missing'")]
    [InlineData("merges", null, "metadata 'tokenizer.ggml.merges' is missing")]
    [InlineData("merges", "b a", "'tokenizer.ggml.merges'[0] is 'b a' but the tokens' ranks imply 'a b'")]
    [InlineData("merges", "", "'tokenizer.ggml.merges' has 0 merges but the tokens' ranks imply 1")]
    [InlineData("token_type", null, "metadata 'tokenizer.ggml.token_type' is missing")]
    [InlineData("token_type", "short", "'tokenizer.ggml.token_type' has 2 entries for 513 tokens")]
    [InlineData("token_type", "byte", "token 0 ('Ā') has type 6")]
    [InlineData("tokens", "space", "token 256 'a b' has U+0020, which is not a byte-level character")]
    [InlineData("tokens", null, "metadata 'tokenizer.ggml.tokens' is missing")]
    [InlineData("bos_token_id", "huge", "BOS id 9999 is outside the vocabulary")]
    public void MalformedGgufVocabulariesNameTheKey(string key, string? value, string message)
    {
        var entries = Gguf();
        string fullKey = key.Contains('.') ? key : "tokenizer.ggml." + key;
        int index = entries.FindIndex(e => e.Key == fullKey);
        GgufValue? replacement = (key, value) switch
        {
            (_, null) => null,
            ("pre", _) => GgufValue.Of(value),
            ("merges", "") => GgufValue.OfArray<string>(),
            ("merges", _) => GgufValue.OfArray(value),
            ("token_type", "short") => GgufValue.OfArray(1, 1),
            ("token_type", "byte") => GgufValue.OfArray(Enumerable.Repeat(6, 513).ToArray()),
            ("tokens", "space") => GgufValue.OfArray([.. ((string[])((GgufArray)entries[index].Value.Value).Items).Select(t => t == "ab" ? "a b" : t)]),
            ("bos_token_id", _) => GgufValue.Of(9999u),
            _ => throw new ArgumentException(key),
        };
        if (replacement == null) entries.RemoveAt(index);
        else entries[index] = new(fullKey, replacement);
        var e = Assert.Throws<ModelFormatException>(() => TokenizerLoader.FromGguf(new GgufMetadata(entries), "bad.gguf"));
        Assert.StartsWith("bad.gguf: ", e.Message);
        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), e.Message);
    }
}
