using System.Text;
using System.Text.Json.Nodes;
using Cria.Tokenization;

namespace Cria.Tests.Tokenization;

/// <summary>Test helper: writes the Hugging Face <c>tokenizer.json</c> / <c>tokenizer_config.json</c> that transformers'
/// <c>LlamaConverter</c> (convert_slow_tokenizer.py) makes from a sentencepiece model, following its code step by
/// step, because no Llama 2 tokenizer.json is among the shared assets and transformers is not installable here.
/// <c>generate_merges</c>: for each piece in id order (scores of ids 0..2 set to 0, as LlamaConverter.vocab does), every
/// split into two vocabulary pieces, sorted by the ids of (left, right); then all merges stably sorted by
/// (score, len(left), len(right)) descending, lengths in code points as Python counts them.</summary>
internal static class HfLlamaConverter
{
    public static List<(string Left, string Right)> GenerateMerges(IReadOnlyList<string> pieces, IReadOnlyList<float> scores)
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < pieces.Count; id++) vocab[pieces[id]] = id; // dict comprehension: a later duplicate wins
        var merges = new List<(string Left, string Right, float Score)>();
        for (int id = 0; id < pieces.Count; id++)
        {
            string merge = pieces[id];
            float score = id < 3 ? 0f : scores[id];
            var local = new List<(string, string, float)>();
            foreach (int index in SplitPoints(merge))
            {
                string left = merge[..index], right = merge[index..];
                if (vocab.ContainsKey(left) && vocab.ContainsKey(right)) local.Add((left, right, score));
            }
            merges.AddRange(local.OrderBy(m => vocab[m.Item1]).ThenBy(m => vocab[m.Item2]));
        }
        return merges.OrderByDescending(m => m.Score).ThenByDescending(m => CodePoints(m.Left)).ThenByDescending(m => CodePoints(m.Right))
            .Select(m => (m.Left, m.Right)).ToList();
    }

    /// <summary>The tokenizer.json LlamaConverter writes: legacy (Prepend + Replace normaliser, no pre-tokenizer) or
    /// not (Metaspace pre-tokenizer, prepend_scheme "first"); merges as "a b" strings or as [a, b] pairs.</summary>
    public static JsonObject TokenizerJson(IReadOnlyList<string> pieces, IReadOnlyList<float> scores, IReadOnlyList<TokenType> types,
        bool legacy = true, bool mergesAsPairs = false)
    {
        var vocab = new JsonObject();
        for (int id = 0; id < pieces.Count; id++) vocab[pieces[id]] = id;
        var merges = new JsonArray();
        foreach (var (left, right) in GenerateMerges(pieces, scores))
            merges.Add(mergesAsPairs ? new JsonArray(left, right) : JsonValue.Create(left + " " + right));
        var added = new JsonArray();
        for (int id = 0; id < pieces.Count; id++)
            if (types[id] is TokenType.Unknown or TokenType.Control or TokenType.UserDefined)
                added.Add(new JsonObject
                {
                    ["id"] = id, ["content"] = pieces[id], ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                    ["normalized"] = false, ["special"] = types[id] != TokenType.UserDefined,
                });
        JsonNode Replace(string pattern, string content) => new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = pattern }, ["content"] = content };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = legacy
                ? new JsonObject { ["type"] = "Sequence", ["normalizers"] = new JsonArray(new JsonObject { ["type"] = "Prepend", ["prepend"] = "\u2581" }, Replace(" ", "\u2581")) }
                : null,
            ["pre_tokenizer"] = legacy ? null : new JsonObject { ["type"] = "Metaspace", ["replacement"] = "\u2581", ["prepend_scheme"] = "first", ["split"] = false },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<s>", ["type_id"] = 0 } },
                                           new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                ["pair"] = new JsonArray(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<s>", ["type_id"] = 0 } },
                                         new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } },
                                         new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<s>", ["type_id"] = 1 } },
                                         new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "B", ["type_id"] = 1 } }),
                ["special_tokens"] = new JsonObject { ["<s>"] = new JsonObject { ["id"] = "<s>", ["ids"] = new JsonArray(1), ["tokens"] = new JsonArray("<s>") } },
            },
            ["decoder"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["decoders"] = new JsonArray(Replace("\u2581", " "), new JsonObject { ["type"] = "ByteFallback" }, new JsonObject { ["type"] = "Fuse" },
                                             new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
            },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = "<unk>", ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = true, ["byte_fallback"] = true, ["ignore_merges"] = false, ["vocab"] = vocab, ["merges"] = merges,
            },
        };
    }

    /// <summary>A tokenizer_config.json like meta-llama/Llama-2-7b-hf's.</summary>
    public static JsonObject TokenizerConfig(bool legacy = true, bool addBos = true, bool addEos = false)
    {
        JsonObject Token(string content) => new()
        {
            ["__type"] = "AddedToken", ["content"] = content, ["lstrip"] = false, ["normalized"] = false, ["rstrip"] = false, ["single_word"] = false,
        };
        return new JsonObject
        {
            ["add_bos_token"] = addBos, ["add_eos_token"] = addEos, ["bos_token"] = Token("<s>"), ["eos_token"] = Token("</s>"), ["unk_token"] = Token("<unk>"),
            ["pad_token"] = null, ["clean_up_tokenization_spaces"] = false, ["legacy"] = legacy,
            ["model_max_length"] = JsonNode.Parse("1000000000000000019884624838656"), ["sp_model_kwargs"] = new JsonObject(),
            ["tokenizer_class"] = "LlamaTokenizer",
        };
    }

    /// <summary>Writes tokenizer.json and tokenizer_config.json into <paramref name="folder"/>.</summary>
    public static void Write(string folder, JsonObject tokenizer, JsonObject? config)
    {
        var options = new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), tokenizer.ToJsonString(options), Encoding.UTF8);
        if (config != null) File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), config.ToJsonString(options), Encoding.UTF8);
    }

    /// <summary>UTF-16 indices where Python's str slicing could cut (between code points).</summary>
    private static IEnumerable<int> SplitPoints(string s)
    {
        for (int i = 1; i < s.Length; i++)
            if (!char.IsLowSurrogate(s[i]) || !char.IsHighSurrogate(s[i - 1])) yield return i;
    }

    private static int CodePoints(string s) => s.EnumerateRunes().Count();
}
