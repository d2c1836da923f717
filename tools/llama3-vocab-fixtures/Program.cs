using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cria.Tests.Infrastructure;
using Cria.Tokenization;

// Writes the Llama 3 vocabulary as a vocab-only GGUF with TiktokenTokenizer.ToGgufMetadata (from Meta's
// tokenizer.model, Llama 3.1 names), asks llama.cpp (shared/tools/llamacpp-ref `tokenize`, no BOS) for its ids of
// llama.cpp's own llama-bpe test strings, the 65 llama3-tokenizer cases and the special-token cases (--parse-special),
// and checks it against tiktoken's ids for the strings of llama3-tiktoken-cases.json (without lone surrogates,
// which a UTF-8 file cannot carry). The tests compare our tokenizer with the stored ids.
// usage: dotnet run --project tools/llama3-vocab-fixtures -- SHARED_DIR OUTPUT.json
string shared = Path.GetFullPath(args.Length > 0 ? args[0] : "../shared");
string output = args.Length > 1 ? args[1] : "tests/Cria.Tests/Tokenization/Data/llamacpp-llama3-gguf-ids.json";
string assets = Path.Combine(shared, "assets");
string runner = Path.Combine(shared, "tools/llamacpp-ref/run.sh");
const string Separator = "\n__cria_vocab_test__\n";
string scratch = Directory.CreateTempSubdirectory("cria-llama3-fixtures-").FullName;

var tokenizer = TiktokenTokenizer.FromTiktokenFile(Path.Combine(assets, "llama3-tokenizer/tokenizer.model"));
string gguf = VocabOnlyGguf.Write(tokenizer, Path.Combine(scratch, "llama3-vocab.gguf"));
string sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(gguf)));

string[] bpeInputs = File.ReadAllText(Path.Combine(assets, "llamacpp-vocab/ggml-vocab-llama-bpe.gguf.inp")).Split("\n__ggml_vocab_test__\n")[..^1];
var cases = JsonNode.Parse(File.ReadAllText(Path.Combine(assets, "llama3-tokenizer/llama3-tokenizer-cases.json")))!;
string[] caseTexts = [.. cases["cases"]!.AsArray().Select(c => c!["text"]!.GetValue<string>())];
var js = JsonNode.Parse(File.ReadAllText(Path.Combine(assets, "llama3-tokenizer/llama3-tokenizer-js-1.2.0-cases.json")))!;
string[] specialTexts =
[
    .. js["encode"]!.AsArray().Select(c => c!["text"]!.GetValue<string>()).Where(t => t.Contains("<|")),
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    "<|python_tag|>x<|eom_id|> <|finetune_right_pad_id|><|reserved_special_token_247|><|reserved_special_token_248|><|step_id|><|image|>",
];

var sets = new JsonObject
{
    ["llama_bpe_vectors"] = Tokenize("bpe", bpeInputs, parseSpecial: false),
    ["llama3_tokenizer_cases"] = Tokenize("cases", caseTexts, parseSpecial: false),
    ["special_tokens_parsed"] = Tokenize("special", specialTexts, parseSpecial: true),
};

// tiktoken's own ids (llama3-tiktoken-cases.json) against llama.cpp's for the same strings
using var tiktoken = JsonDocument.Parse(File.ReadAllText("tests/Cria.Tests/Tokenization/Data/llama3-tiktoken-cases.json"));
var entries = tiktoken.RootElement.GetProperty("targeted").EnumerateArray().Concat(tiktoken.RootElement.GetProperty("random").EnumerateArray())
    .Select(c => (Text: LooseString(c.GetProperty("text").GetRawText()), Ids: c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray()))
    .Where(e => !HasLoneSurrogate(e.Text)).ToArray();
var llama = Tokenize("tiktoken", [.. entries.Select(e => e.Text)], parseSpecial: false);
var disagreements = new JsonArray();
for (int i = 0; i < entries.Length; i++)
{
    int[] ids = [.. llama[i]!["ids"]!.AsArray().Select(x => x!.GetValue<int>())];
    if (!ids.SequenceEqual(entries[i].Ids))
        disagreements.Add(new JsonObject { ["text"] = entries[i].Text, ["tiktoken"] = Ints(entries[i].Ids), ["llama_cpp"] = Ints(ids) });
}
Console.Error.WriteLine($"tiktoken vs llama.cpp: {entries.Length - disagreements.Count} of {entries.Length} agree");

string library = Run(runner, "info").Split('\n').FirstOrDefault(l => l.StartsWith("library:", StringComparison.Ordinal))?["library:".Length..] ?? "";
var root = new JsonObject
{
    ["note"] = "llama.cpp's ids (shared/tools/llamacpp-ref tokenize, no BOS) for a vocab-only GGUF written by TiktokenTokenizer.ToGgufMetadata " +
               "from the Llama 3 tokenizer.model (Llama 3.1 names); made by tools/llama3-vocab-fixtures.",
    ["library"] = library.Trim(),
    ["gguf_sha256"] = sha,
    ["sets"] = sets,
    ["tiktoken_cases_compared"] = entries.Length,
    ["tiktoken_cases_disagreeing"] = disagreements,
};
File.WriteAllText(output, root.ToJsonString(new JsonSerializerOptions { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }).Replace("},{", "},\n{") + "\n");
Directory.Delete(scratch, true);
Console.Error.WriteLine($"wrote {output}");

JsonArray Tokenize(string name, string[] texts, bool parseSpecial)
{
    string file = Path.Combine(scratch, name + ".txt");
    // a first dummy string, so that a text starting with U+FEFF is not taken for a byte-order mark
    File.WriteAllText(file, "x" + Separator + string.Join(Separator, texts) + Separator, new UTF8Encoding(false));
    string stdout = Run(runner, $"tokenize {gguf} --file {file} --split '{Separator.Replace("\n", "\\n")}' --no-bos{(parseSpecial ? " --parse-special" : "")}");
    string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1..];
    if (lines.Length != texts.Length) throw new Exception($"{name}: {lines.Length} results for {texts.Length} texts");
    var result = new JsonArray();
    for (int i = 0; i < texts.Length; i++)
        result.Add(new JsonObject { ["text"] = texts[i], ["ids"] = JsonNode.Parse(lines[i]) });
    return result;
}

static JsonArray Ints(int[] ids) => new(ids.Select(i => (JsonNode)i).ToArray());

static bool HasLoneSurrogate(string text)
{
    for (int i = 0; i < text.Length; i++)
    {
        if (!char.IsSurrogate(text[i])) continue;
        if (!char.IsHighSurrogate(text[i]) || i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1])) return true;
        i++;
    }
    return false;
}

static string LooseString(string json)
{
    var text = new StringBuilder();
    for (int i = 1; i < json.Length - 1; i++)
    {
        if (json[i] != '\\') { text.Append(json[i]); continue; }
        char e = json[++i];
        text.Append(e switch { 'n' => '\n', 'r' => '\r', 't' => '\t', 'b' => '\b', 'f' => '\f', 'u' => (char)Convert.ToUInt16(json.Substring(i + 1, 4), 16), _ => e });
        if (e == 'u') i += 4;
    }
    return text.ToString();
}

static string Run(string runner, string arguments)
{
    var psi = new ProcessStartInfo("bash", $"-c \"{runner} {arguments.Replace("\"", "\\\"")}\"") { RedirectStandardOutput = true, RedirectStandardError = true };
    using var p = Process.Start(psi)!;
    var stderr = p.StandardError.ReadToEndAsync();
    string stdout = p.StandardOutput.ReadToEnd();
    p.WaitForExit();
    if (p.ExitCode != 0) throw new Exception($"{runner} {arguments} failed: {stderr.Result}");
    return stdout + stderr.Result;
}
