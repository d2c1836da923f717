using System.Text.Json;

namespace Cria.Tokenization;

/// <summary>Reads a Llama-2-style Hugging Face <c>tokenizer.json</c> — the one transformers' <c>LlamaConverter</c> writes
/// from a sentencepiece model: model "BPE" with <c>byte_fallback</c>, spaces turned into '▁' by a Prepend + Replace
/// normaliser (legacy) or a Metaspace pre-tokenizer — and <c>tokenizer_config.json</c> beside it (add_bos_token,
/// add_eos_token, bos/eos/unk/pad tokens). It becomes a <see cref="SentencePieceTokenizer"/> whose piece scores are the
/// negated rank of the first merge that makes each piece (0 for pieces no merge makes), which gives sentencepiece's
/// merge order back. Byte-level BPE files (Llama 3) are not this format: <see cref="Load"/> returns null for them.</summary>
internal static class HuggingFaceSentencePieceLoader
{
    private const long MaxFileBytes = 256L << 20; // Llama 2's tokenizer.json is 1.8 MB

    /// <summary>The tokenizer, or null if the file is a byte-level BPE tokenizer.json (another loader's format).
    /// Throws <see cref="ModelFormatException"/> naming the file for malformed or unsupported content.</summary>
    public static SentencePieceTokenizer? Load(string path, int? expectedVocabSize)
    {
        JsonElement root = ParseFile(path);
        if (root.ValueKind == JsonValueKind.Object && IsByteLevel(root)) return null; // before the config: it is not ours to judge
        string configPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "tokenizer_config.json");
        JsonElement? config = File.Exists(configPath) ? ParseFile(configPath) : null;
        return Build(root, config, path, expectedVocabSize);
    }

    /// <summary>True if the parsed tokenizer.json uses byte-level BPE (GPT-2 / Llama 3 style) anywhere.</summary>
    public static bool IsByteLevel(JsonElement root)
    {
        foreach (string part in (string[])["normalizer", "pre_tokenizer", "decoder", "post_processor"])
            if (root.TryGetProperty(part, out JsonElement e) && HasComponent(e, "ByteLevel", depth: 0)) return true;
        return false;
    }

    internal static SentencePieceTokenizer? Build(JsonElement root, JsonElement? config, string source, int? expectedVocabSize)
    {
        if (root.ValueKind != JsonValueKind.Object) throw Error(source, "the top level is not a JSON object");
        if (IsByteLevel(root)) return null;
        JsonElement model = Property(root, "model", JsonValueKind.Object, source);
        string type = model.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "(none)";
        if (type != "BPE")
            throw Error(source, $"model type '{type}' is not supported; a SentencePiece-style tokenizer.json has a \"BPE\" model");
        foreach (string unsupported in (string[])["continuing_subword_prefix", "end_of_word_suffix"])
            if (model.TryGetProperty(unsupported, out JsonElement v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0)
                throw Error(source, $"model.{unsupported} is set, which SentencePiece BPE does not have");
        if (model.TryGetProperty("dropout", out JsonElement dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
            throw Error(source, "model.dropout is set (BPE-dropout samples segmentations); only deterministic BPE is supported");
        bool byteFallback = model.TryGetProperty("byte_fallback", out JsonElement bf) && bf.ValueKind == JsonValueKind.True;
        var (addPrefix, prefixAfterSpecial) = SpaceRule(root, source);

        // Pieces: the vocabulary, then added tokens (which may extend it); ids must cover 0..N-1 exactly.
        JsonElement vocab = Property(model, "vocab", JsonValueKind.Object, source);
        JsonElement added = root.TryGetProperty("added_tokens", out JsonElement a) && a.ValueKind == JsonValueKind.Array ? a : default;
        var byId = new Dictionary<int, string>();
        foreach (JsonProperty entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw Error(source, $"model.vocab['{entry.Name}'] is {entry.Value.GetRawText()}, not a token id");
            if (entry.Name.Length == 0) throw Error(source, $"model.vocab has an empty piece (id {id})");
            if (!byId.TryAdd(id, entry.Name)) throw Error(source, $"model.vocab gives id {id} to both '{byId[id]}' and '{entry.Name}'");
        }
        var specials = new Dictionary<int, bool>(); // added token id → special
        if (added.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement token in added.EnumerateArray())
            {
                if (token.ValueKind != JsonValueKind.Object) throw Error(source, "an entry of added_tokens is not an object");
                JsonElement idElement = Property(token, "id", JsonValueKind.Number, source);
                string content = Property(token, "content", JsonValueKind.String, source).GetString()!;
                if (!idElement.TryGetInt32(out int id) || id < 0) throw Error(source, $"added token '{content}' has id {idElement.GetRawText()}");
                if (content.Length == 0) throw Error(source, $"added token {id} is empty");
                if (byId.TryGetValue(id, out string? existing) && existing != content)
                    throw Error(source, $"added token {id} is '{content}' but model.vocab has '{existing}' there");
                byId[id] = content;
                specials[id] = token.TryGetProperty("special", out JsonElement s) && s.ValueKind == JsonValueKind.True;
            }
        }
        int count = byId.Count;
        if (count == 0) throw Error(source, "model.vocab is empty");
        var pieces = new string[count];
        foreach (var (id, piece) in byId)
        {
            if (id >= count) throw Error(source, $"token ids are not 0..{count - 1}: id {id} is used and some lower id is not");
            pieces[id] = piece;
        }
        if (expectedVocabSize is int expected && expected != count)
            throw Error(source, $"has {count} tokens but the model's vocabulary size is {expected}");
        var ids = new Dictionary<string, int>(count, StringComparer.Ordinal);
        for (int id = 0; id < count; id++)
            if (!ids.TryAdd(pieces[id], id)) throw Error(source, $"piece '{pieces[id]}' has two ids ({ids[pieces[id]]} and {id})");

        int unk = -1;
        if (model.TryGetProperty("unk_token", out JsonElement unkElement) && unkElement.ValueKind == JsonValueKind.String)
            unk = ids.TryGetValue(unkElement.GetString()!, out int u) ? u : throw Error(source, $"model.unk_token '{unkElement.GetString()}' is not in the vocabulary");
        var types = new TokenType[count];
        for (int id = 0; id < count; id++)
        {
            types[id] = id == unk ? TokenType.Unknown
                : specials.TryGetValue(id, out bool special) ? (special ? TokenType.Control : TokenType.UserDefined)
                : byteFallback && BytePiece.TryParse(pieces[id], out _) ? TokenType.Byte
                : TokenType.Normal;
        }

        float[] scores = MergeScores(Property(model, "merges", JsonValueKind.Array, source), ids, pieces, types, source);
        var (bos, eos, pad, addBos, addEos) = SpecialTokens(root, config, ids, source);
        return new SentencePieceTokenizer(pieces, scores, types, new SentencePieceOptions
        {
            UnknownId = unk,
            BosId = bos,
            EosId = eos,
            PadId = pad,
            AddBos = addBos,
            AddEos = addEos,
            AddSpacePrefix = addPrefix,
            AddSpacePrefixAfterSpecialTokens = prefixAfterSpecial,
            Source = source,
            ChatTemplate = config is { ValueKind: JsonValueKind.Object } c && c.TryGetProperty("chat_template", out var template) && template.ValueKind == JsonValueKind.String ? template.GetString() : null,
        });
    }

    /// <summary>Score of each piece: −(rank of the first merge that makes it), 0 if none does. The merges must be those
    /// of a sentencepiece vocabulary — every split of a merged piece into two mergeable pieces is itself a merge — or
    /// sentencepiece's rule (any split may merge) would differ from Hugging Face's (only listed pairs merge).</summary>
    private static float[] MergeScores(JsonElement merges, Dictionary<string, int> ids, string[] pieces, TokenType[] types, string source)
    {
        var scores = new float[pieces.Length];
        var made = new bool[pieces.Length];
        var pairs = new HashSet<(int, int)>();
        int rank = 0;
        foreach (JsonElement merge in merges.EnumerateArray())
        {
            var (left, right) = MergePair(merge, rank, source);
            if (!ids.TryGetValue(left, out int l) || !ids.TryGetValue(right, out int r))
                throw Error(source, $"merge {rank} ('{left}' '{right}') uses a piece that is not in the vocabulary");
            if (!ids.TryGetValue(left + right, out int result))
                throw Error(source, $"merge {rank} ('{left}' '{right}') makes '{left + right}', which is not in the vocabulary");
            pairs.Add((l, r));
            if (!made[result])
            {
                made[result] = true;
                scores[result] = -rank;
            }
            rank++;
        }
        for (int id = 0; id < pieces.Length; id++)
        {
            if (!made[id]) continue;
            string piece = pieces[id];
            for (int split = 1; split < piece.Length; split++)
            {
                if (char.IsLowSurrogate(piece[split])) continue;
                if (ids.TryGetValue(piece[..split], out int l) && ids.TryGetValue(piece[split..], out int r) && Mergeable(types[l]) && Mergeable(types[r]) && !pairs.Contains((l, r)))
                    throw Error(source, $"the merges are not those of a SentencePiece vocabulary: '{piece}' is made by a merge, but not from " +
                                        $"'{piece[..split]}' + '{piece[split..]}'; only tokenizer.json files converted from SentencePiece are supported");
            }
        }
        return scores;
    }

    private static bool Mergeable(TokenType type) => type is TokenType.Normal or TokenType.UserDefined;

    /// <summary>A merge as "left right" (tokenizers before 0.20) or ["left", "right"].</summary>
    private static (string Left, string Right) MergePair(JsonElement merge, int rank, string source)
    {
        if (merge.ValueKind == JsonValueKind.String)
        {
            string text = merge.GetString()!;
            int space = text.IndexOf(' ');
            if (space > 0 && space < text.Length - 1 && text.IndexOf(' ', space + 1) < 0) return (text[..space], text[(space + 1)..]);
        }
        else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2 &&
                 merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            return (merge[0].GetString()!, merge[1].GetString()!);
        throw Error(source, $"merge {rank} is {merge.GetRawText()}, not \"left right\" or [\"left\", \"right\"]");
    }

    /// <summary>How spaces become '▁': (prefix one at the start?, also after special tokens?). Refuses every other
    /// normaliser or pre-tokenizer, since it would change the text before BPE.</summary>
    private static (bool AddPrefix, bool AfterSpecial) SpaceRule(JsonElement root, string source)
    {
        bool prepend = false, replace = false, metaspace = false, afterSpecial = true;
        foreach (JsonElement n in Components(root, "normalizer", "normalizers", source))
        {
            switch (TypeOf(n))
            {
                case "Prepend" when n.TryGetProperty("prepend", out JsonElement p) && p.GetString() == "\u2581":
                    prepend = true;
                    break;
                case "Replace" when IsSpaceReplace(n):
                    replace = true;
                    break;
                default:
                    throw Error(source, $"normalizer {n.GetRawText()} is not supported (only Prepend \"▁\" and Replace \" \" → \"▁\", as Llama's)");
            }
        }
        bool prefix = prepend;
        foreach (JsonElement p in Components(root, "pre_tokenizer", "pretokenizers", source))
        {
            if (TypeOf(p) != "Metaspace")
                throw Error(source, $"pre_tokenizer {p.GetRawText()} is not supported (only Metaspace, as Llama's)");
            if (p.TryGetProperty("replacement", out JsonElement r) && r.GetString() != "\u2581")
                throw Error(source, $"the Metaspace replacement is '{r.GetString()}', not '▁'");
            // tokenizers' default for "split" is true: Metaspace then cuts the text into words before BPE, which sentencepiece never does.
            if (!p.TryGetProperty("split", out JsonElement split) || split.ValueKind != JsonValueKind.False)
                throw Error(source, "the Metaspace pre-tokenizer splits the text at spaces (\"split\": true or missing); SentencePiece BPE does not");
            metaspace = true;
            string scheme = p.TryGetProperty("prepend_scheme", out JsonElement s) && s.ValueKind == JsonValueKind.String ? s.GetString()!
                : p.TryGetProperty("add_prefix_space", out JsonElement aps) && aps.ValueKind == JsonValueKind.False ? "never" : "always";
            switch (scheme)
            {
                case "always": prefix = true; break;
                case "first": prefix = true; afterSpecial = false; break;
                case "never": break;
                default: throw Error(source, $"Metaspace prepend_scheme '{scheme}' is not one of always, first, never");
            }
        }
        if (!replace && !metaspace)
            throw Error(source, "spaces are not turned into '▁' (no Replace normaliser or Metaspace pre-tokenizer); this is not a SentencePiece-style tokenizer.json");
        if (replace && metaspace) throw Error(source, "both a Replace normaliser and a Metaspace pre-tokenizer turn spaces into '▁'");
        return (prefix, afterSpecial);
    }

    private static bool IsSpaceReplace(JsonElement n) =>
        n.TryGetProperty("pattern", out JsonElement pattern) && pattern.ValueKind == JsonValueKind.Object &&
        pattern.TryGetProperty("String", out JsonElement s) && s.GetString() == " " &&
        n.TryGetProperty("content", out JsonElement c) && c.GetString() == "\u2581";

    /// <summary>The steps of a normaliser or pre-tokenizer: none (null), one, or the items of a "Sequence".</summary>
    private static IEnumerable<JsonElement> Components(JsonElement root, string name, string sequenceItems, string source)
    {
        if (!root.TryGetProperty(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null) return [];
        if (e.ValueKind != JsonValueKind.Object) throw Error(source, $"'{name}' is not an object");
        if (TypeOf(e) != "Sequence") return [e];
        JsonElement items = Property(e, sequenceItems, JsonValueKind.Array, source);
        foreach (JsonElement item in items.EnumerateArray())
            if (item.ValueKind != JsonValueKind.Object || TypeOf(item) == "Sequence") throw Error(source, $"'{name}' has a nested or malformed step: {item.GetRawText()}");
        return items.EnumerateArray().ToArray();
    }

    /// <summary>BOS/EOS/pad ids and whether BOS/EOS are added: tokenizer_config.json first, then the post-processor's
    /// template, then Llama's piece names.</summary>
    private static (int Bos, int Eos, int Pad, bool AddBos, bool AddEos) SpecialTokens(JsonElement root, JsonElement? config, Dictionary<string, int> ids, string source)
    {
        var (templateFirst, templateLast) = TemplateSpecials(root);
        int Id(string key, string? fallback)
        {
            string? piece = fallback;
            if (config is JsonElement c && c.TryGetProperty(key, out JsonElement v))
            {
                piece = v.ValueKind switch
                {
                    JsonValueKind.String => v.GetString(),
                    JsonValueKind.Object when v.TryGetProperty("content", out JsonElement content) && content.ValueKind == JsonValueKind.String => content.GetString(),
                    JsonValueKind.Null => null,
                    _ => throw Error(source, $"tokenizer_config.json: '{key}' is {v.GetRawText()}, not a token"),
                };
                if (piece != null && !ids.ContainsKey(piece)) throw Error(source, $"tokenizer_config.json: {key} '{piece}' is not in the vocabulary");
            }
            return piece != null && ids.TryGetValue(piece, out int id) ? id : -1;
        }
        int bos = Id("bos_token", templateFirst ?? "<s>");
        int eos = Id("eos_token", templateLast ?? "</s>");
        int pad = Id("pad_token", null);
        bool addBos = ConfigBool(config, "add_bos_token", source) ?? templateFirst != null;
        bool addEos = ConfigBool(config, "add_eos_token", source) ?? templateLast != null;
        return (bos, eos, pad, addBos, addEos);
    }

    /// <summary>The special tokens a TemplateProcessing post-processor puts before and after a single sequence.</summary>
    private static (string? First, string? Last) TemplateSpecials(JsonElement root)
    {
        if (!root.TryGetProperty("post_processor", out JsonElement p) || p.ValueKind != JsonValueKind.Object || TypeOf(p) != "TemplateProcessing" ||
            !p.TryGetProperty("single", out JsonElement single) || single.ValueKind != JsonValueKind.Array || single.GetArrayLength() == 0) return (null, null);
        static string? SpecialId(JsonElement item) =>
            item.ValueKind == JsonValueKind.Object && item.TryGetProperty("SpecialToken", out JsonElement s) && s.ValueKind == JsonValueKind.Object &&
            s.TryGetProperty("id", out JsonElement id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;
        string? first = SpecialId(single[0]);
        string? last = single.GetArrayLength() > 1 ? SpecialId(single[single.GetArrayLength() - 1]) : null;
        return (first, last);
    }

    private static bool? ConfigBool(JsonElement? config, string key, string source)
    {
        if (config is not JsonElement c || !c.TryGetProperty(key, out JsonElement v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(source, $"tokenizer_config.json: '{key}' is {v.GetRawText()}, not true or false"),
        };
    }

    private static bool HasComponent(JsonElement e, string type, int depth)
    {
        if (depth > 16) return false; // real files nest two levels; JsonDocument already bounds the depth at 64
        if (e.ValueKind == JsonValueKind.Array) return e.EnumerateArray().Any(x => HasComponent(x, type, depth + 1));
        if (e.ValueKind != JsonValueKind.Object) return false;
        if (TypeOf(e) == type) return true;
        return e.EnumerateObject().Any(p => p.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Array && HasComponent(p.Value, type, depth + 1));
    }

    private static string? TypeOf(JsonElement e) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;

    private static JsonElement Property(JsonElement e, string name, JsonValueKind kind, string source)
    {
        if (!e.TryGetProperty(name, out JsonElement v)) throw Error(source, $"'{name}' is missing");
        if (v.ValueKind != kind) throw Error(source, $"'{name}' is {v.ValueKind}, expected {kind}");
        return v;
    }

    /// <summary>Parses a JSON file, bounded in size; malformed JSON is reported with its line and position.</summary>
    internal static JsonElement ParseFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"tokenizer file not found: {path}", path);
        if (info.Length > MaxFileBytes) throw Error(path, $"{info.Length} bytes is too large for a tokenizer JSON file");
        try
        {
            ReadOnlyMemory<byte> bytes = File.ReadAllBytes(path);
            if (bytes.Span.StartsWith("\uFEFF"u8)) bytes = bytes[3..]; // a UTF-8 byte order mark, as some editors write
            using var doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 64 });
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw Error(path, $"malformed JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}");
        }
    }

    private static ModelFormatException Error(string source, string what) => new($"{source}: {what}");
}
