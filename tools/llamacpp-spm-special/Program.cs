using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlamaCppRef;

// Asks llama.cpp (the build of shared/tools/llamacpp-ref) how it tokenizes text holding special-token texts with
// parse_special on and off, how it renders each token (token_to_piece, special on and off) and how it
// detokenizes with unparse_special, for the SentencePiece GGUF vocabularies of shared/assets; writes the answers
// as the fixture tests/Cria.Tests/Tokenization/Data/llamacpp-spm-special-cases.json.
// usage: dotnet run --project tools/llamacpp-spm-special -- SHARED_DIR OUTPUT.json   (run setup.sh of llamacpp-ref once first)
string shared = Path.GetFullPath(args.Length > 0 ? args[0] : "../shared");
string output = args.Length > 1 ? args[1] : "tests/Cria.Tests/Tokenization/Data/llamacpp-spm-special-cases.json";
string[] vocabFiles = ["llamacpp-vocab/ggml-vocab-llama-spm.gguf", "stories260K-gguf/stories260K-f32.gguf"];

Runtime.Start();
var texts = new List<string>
{
    "", " ", "  ", "<s>", "</s>", "<unk>", "<s>Hello", "Hello<s>", "Hello <s> world", "Hello<s>world", "<s> Hello", "<s>  Hello",
    "<s><s>", "<s></s>", "</s><s>", "<<s>>", "<s", "s>", "<s >", "</s></s>", " <s>", "<s> ", " <s> ", "a<unk>b", "<unk><unk>",
    "<0x41>", "<0x0A><s>", "\u2581<s>\u2581", "\n<s>\n", "<s>\n", "x</s>", "<S>", "</S>", "<s>\U0001F999", "\U0001F999</s>",
    "<s>[INST] Hi [/INST]", "[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nHello [/INST] Hi there!</s><s>[INST] And now? [/INST]",
    "Once upon a time</s>", "Once upon a time<s> there was", "</s>\n\n<s>  Once", "<s>\t<s>", "<unk>\u00e9", "<s>1234</s>", "   <s>   ",
    "<s>a</s>b<unk>c", "<</s>>", "<<unk>>", "</</s>s>", "<s><unk></s>", "text with no specials", " leading space", "trailing space ",
};
// Random mixtures of special texts, near-misses and ordinary text, from a fixed seed.
string[] pool = ["<s>", "</s>", "<unk>", "<s", "s>", "</", "<", ">", " ", "  ", "\n", "Hello", " world", "a", "é", "\U0001F999", "123", "\u2581", "[INST]", "<0x41>", "<pad>", "\t"];
var random = new Random(20250302);
var seen = new HashSet<string>(texts);
while (texts.Count < 250)
{
    string t = string.Concat(Enumerable.Range(0, random.Next(1, 12)).Select(_ => pool[random.Next(pool.Length)]));
    if (seen.Add(t)) texts.Add(t);
}

var vocabs = new JsonObject();
foreach (string relative in vocabFiles)
{
    using var model = Model.Load(Path.Combine(shared, "assets", relative), vocabOnly: true);
    var cases = new JsonArray();
    var usedIds = new SortedSet<int>(Enumerable.Range(0, Math.Min(300, model.NVocab)));
    foreach (string text in texts)
    {
        int[] special = model.Tokenize(text, addSpecial: true, parseSpecial: true);
        int[] specialNoBos = model.Tokenize(text, addSpecial: false, parseSpecial: true);
        int[] plain = model.Tokenize(text, addSpecial: true, parseSpecial: false);
        usedIds.UnionWith(special);
        cases.Add(new JsonObject
        {
            ["text"] = text,
            ["ids"] = Ids(special),
            ["ids_no_bos"] = Ids(specialNoBos),
            ["ids_not_parsed"] = Ids(plain),
            ["detokenized_unparse_special"] = Detokenize(model.Vocab, special, removeSpecial: false, unparseSpecial: true),
        });
    }
    var pieces = new JsonArray();
    foreach (int id in usedIds)
        pieces.Add(new JsonObject
        {
            ["id"] = id,
            ["special_hex"] = Convert.ToHexString(model.PieceBytes(id, special: true)),
            ["plain_hex"] = Convert.ToHexString(model.PieceBytes(id, special: false)),
        });
    vocabs[relative] = new JsonObject { ["n_vocab"] = model.NVocab, ["cases"] = cases, ["pieces"] = pieces };
    Console.Error.WriteLine($"{relative}: {cases.Count} texts, {pieces.Count} pieces");
}

var root = new JsonObject
{
    ["generator"] = "tools/llamacpp-spm-special (llama.cpp in-process through shared/tools/llamacpp-ref's Native.cs/LlamaCpp.cs): " +
                    "llama_tokenize(add_special, parse_special) on vocab-only loads of the GGUF files; ids = add_special+parse_special, " +
                    "ids_no_bos = parse_special only, ids_not_parsed = add_special only; pieces: llama_token_to_piece(lstrip 0, special true/false) as hex; " +
                    "detokenized_unparse_special: llama_detokenize(ids, remove_special false, unparse_special true)",
    ["library"] = Runtime.LibraryLabel,
    ["vocabs"] = vocabs,
};
File.WriteAllText(output, OneItemPerLine(root) + "\n");
Console.Error.WriteLine($"wrote {output}");

// Compact JSON with each case and piece on its own line: small, and diffs stay readable.
static string OneItemPerLine(JsonNode node, string indent = "") => node switch
{
    JsonObject o when o.Any(p => p.Value is JsonObject || p.Value is JsonArray a && a.Any(e => e is JsonObject)) =>
        "{\n" + string.Join(",\n", o.Select(p => indent + "  " + JsonSerializer.Serialize(p.Key, Relaxed.Options) + ": " + OneItemPerLine(p.Value!, indent + "  "))) + "\n" + indent + "}",
    JsonArray a when a.Any(e => e is JsonObject) => "[\n" + string.Join(",\n", a.Select(e => indent + "  " + e!.ToJsonString(Relaxed.Options))) + "\n" + indent + "]",
    _ => node.ToJsonString(Relaxed.Options),
};

static JsonArray Ids(int[] ids) => new(ids.Select(i => (JsonNode)i).ToArray());

static unsafe string Detokenize(IntPtr vocab, int[] ids, bool removeSpecial, bool unparseSpecial)
{
    var buffer = new byte[64 + ids.Length * 64];
    int n;
    fixed (int* t = ids)
    fixed (byte* b = buffer)
        n = Detok.llama_detokenize(vocab, t, ids.Length, b, buffer.Length, (byte)(removeSpecial ? 1 : 0), (byte)(unparseSpecial ? 1 : 0));
    if (n < 0) throw new InvalidOperationException($"llama_detokenize needs {-n} bytes");
    return Encoding.UTF8.GetString(buffer, 0, n);
}

internal static class Relaxed
{
    // '<' and '>' are most of what these texts hold: keep them readable (the file is never embedded in HTML).
    public static readonly JsonSerializerOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}

internal static unsafe class Detok
{
    // int32_t llama_detokenize(const llama_vocab *, const llama_token *, int32_t n_tokens, char * text, int32_t text_len_max, bool remove_special, bool unparse_special)
    [DllImport("llama")] public static extern int llama_detokenize(IntPtr vocab, int* tokens, int nTokens, byte* text, int textLenMax, byte removeSpecial, byte unparseSpecial);
}
