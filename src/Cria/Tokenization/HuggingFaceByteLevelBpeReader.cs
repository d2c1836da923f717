using System.Text;
using System.Text.Json;

namespace Cria.Tokenization;

/// <summary>Reads a Hugging Face <c>tokenizer.json</c> whose model is byte-level BPE with Llama 3's pre-tokenizer
/// (model BPE: vocab + merges + <c>ignore_merges</c>; pre_tokenizer: Split on the Llama 3 pattern then ByteLevel;
/// added_tokens after the vocabulary), and the <c>tokenizer_config.json</c> beside it (bos/eos tokens,
/// add_bos/add_eos, chat template). The merges must be the ones the vocabulary's ranks imply, as in every Llama 3
/// file: then the tokenizer is tiktoken's, exactly.</summary>
internal static class HuggingFaceByteLevelBpeReader
{
    private const long MaxFileBytes = 512L << 20;

    public static TiktokenTokenizer Read(string path, string? configPath)
    {
        JsonElement root = ParseFile(path);
        if (configPath == null)
        {
            string sibling = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "tokenizer_config.json");
            if (File.Exists(sibling)) configPath = sibling;
        }
        JsonElement? config = configPath == null ? null : ParseFile(configPath);
        return FromJson(root, path, config, configPath);
    }

    /// <summary>True if a parsed <c>tokenizer.json</c> is byte-level BPE (a ByteLevel pre-tokenizer), the family this reader
    /// handles, as opposed to SentencePiece-style BPE (Metaspace, byte fallback).</summary>
    public static bool IsByteLevelBpe(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty("model", out JsonElement model) && model.ValueKind == JsonValueKind.Object
        && Str(model, "type") == "BPE" && root.TryGetProperty("pre_tokenizer", out JsonElement pre) && HasByteLevel(pre);

    internal static JsonElement ParseFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new CriaException($"tokenizer file not found: '{path}'");
        if (info.Length > MaxFileBytes) throw new ModelFormatException($"{path}: {info.Length} bytes is too large for a tokenizer.json");
        try
        {
            ReadOnlyMemory<byte> bytes = File.ReadAllBytes(path);
            if (bytes.Span.StartsWith("\uFEFF"u8)) bytes = bytes[3..]; // a UTF-8 byte order mark, as some editors write
            using var doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 64 });
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{path}: malformed JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", e);
        }
    }

    internal static TiktokenTokenizer FromJson(JsonElement root, string path, JsonElement? config, string? configPath)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{path}: not a tokenizer.json (the top level is not an object)");
        JsonElement model = Property(root, "model", JsonValueKind.Object, path);
        string? type = Str(model, "type");
        if (type != "BPE") throw new ModelFormatException($"{path}: model.type is '{type ?? "missing"}'; only byte-level BPE (\"BPE\") is read here");
        CheckPreTokenizer(root, path);
        if (root.TryGetProperty("normalizer", out JsonElement normalizer) && normalizer.ValueKind != JsonValueKind.Null)
            throw new ModelFormatException($"{path}: normalizer {Short(normalizer)} is not supported (Llama 3 has none)");
        if (model.TryGetProperty("byte_fallback", out JsonElement fallback) && fallback.ValueKind == JsonValueKind.True)
            throw new ModelFormatException($"{path}: model.byte_fallback is true: a SentencePiece-style vocabulary, not byte-level BPE");
        foreach (string affix in (string[])["continuing_subword_prefix", "end_of_word_suffix"])
            if (Str(model, affix) is { Length: > 0 } value) throw new ModelFormatException($"{path}: model.{affix} '{value}' is not supported");
        if (model.TryGetProperty("dropout", out JsonElement dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
            throw new ModelFormatException($"{path}: model.dropout is set; BPE dropout is for training and not supported");

        // The vocabulary: byte-level spelled tokens with ids 0..N-1 (an id is a rank).
        JsonElement vocab = Property(model, "vocab", JsonValueKind.Object, path);
        var byId = new List<(string Text, byte[] Bytes)?>();
        foreach (JsonProperty entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw new ModelFormatException($"{path}: model.vocab['{entry.Name}'] = {Short(entry.Value)} is not a token id");
            if (id > vocab.GetPropertyCount()) throw new ModelFormatException($"{path}: model.vocab['{entry.Name}'] = {id}: ids must be 0..{vocab.GetPropertyCount() - 1}");
            if (!ByteLevelAlphabet.TryRead(entry.Name, out byte[] bytes, out int bad))
                throw new ModelFormatException($"{path}: model.vocab token '{entry.Name}' (id {id}) has U+{(int)entry.Name[bad]:X4}, which is not a byte-level character");
            while (byId.Count <= id) byId.Add(null);
            if (byId[id] is { } other) throw new ModelFormatException($"{path}: model.vocab gives id {id} to both '{other.Text}' and '{entry.Name}'");
            byId[id] = (entry.Name, bytes);
        }
        int rankCount = byId.Count;
        var tokens = new List<byte[]>(rankCount + 256);
        var types = new List<TokenType>(rankCount + 256);
        for (int id = 0; id < rankCount; id++)
        {
            tokens.Add(byId[id]?.Bytes ?? throw new ModelFormatException($"{path}: model.vocab has no token with id {id} (ids must be 0..{rankCount - 1})"));
            types.Add(TokenType.Normal);
        }

        // Added tokens: ids right after the vocabulary, special → control, others → user-defined (always split out).
        var added = new SortedDictionary<int, (string Content, bool Special)>();
        if (root.TryGetProperty("added_tokens", out JsonElement addedTokens) && addedTokens.ValueKind != JsonValueKind.Null)
        {
            if (addedTokens.ValueKind != JsonValueKind.Array) throw new ModelFormatException($"{path}: added_tokens is not an array");
            foreach (JsonElement token in addedTokens.EnumerateArray())
            {
                if (token.ValueKind != JsonValueKind.Object || !token.TryGetProperty("id", out JsonElement idElement) || !idElement.TryGetInt32(out int id)
                    || Str(token, "content") is not { Length: > 0 } content)
                    throw new ModelFormatException($"{path}: added token {Short(token)} has no id or content");
                if (id < rankCount) throw new ModelFormatException($"{path}: added token '{content}' has id {id}, inside the BPE vocabulary (0..{rankCount - 1})");
                foreach (string flag in (string[])["lstrip", "rstrip", "single_word"])
                    if (token.TryGetProperty(flag, out JsonElement set) && set.ValueKind == JsonValueKind.True)
                        throw new ModelFormatException($"{path}: added token '{content}' has {flag} set, which is not supported (Llama 3's have none)");
                if (!added.TryAdd(id, (content, !token.TryGetProperty("special", out JsonElement sp) || sp.ValueKind != JsonValueKind.False)))
                    throw new ModelFormatException($"{path}: two added tokens have id {id}");
            }
        }
        foreach (var (id, (content, special)) in added)
        {
            if (id != tokens.Count) throw new ModelFormatException($"{path}: added token ids must follow the vocabulary without gaps: id {tokens.Count} is missing before '{content}' ({id})");
            tokens.Add(Encoding.UTF8.GetBytes(content));
            types.Add(special ? TokenType.Control : TokenType.UserDefined);
        }
        string[] names = [.. tokens.Select((b, id) => types[id] == TokenType.Normal ? "" : Encoding.UTF8.GetString(b))];
        if (config is { } cfg) CheckConfigAddedTokens(cfg, names, configPath!);

        var options = new TiktokenOptions
        {
            Source = path,
            IgnoreMerges = model.TryGetProperty("ignore_merges", out JsonElement ignore) && ignore.ValueKind == JsonValueKind.True,
        };
        var (templateBos, templateEos) = PostProcessorTemplate(root);
        int FindSpecial(string? text) => string.IsNullOrEmpty(text) ? -1 : Array.IndexOf(names, text);
        string? bos = config is { } c1 ? TokenContent(c1, "bos_token") : null;
        string? eos = config is { } c2 ? TokenContent(c2, "eos_token") : null;
        string? pad = config is { } c3 ? TokenContent(c3, "pad_token") : null;
        int bosId = bos != null ? FindSpecial(bos) : templateBos >= 0 ? templateBos : FindSpecial(Llama3SpecialTokens.BeginOfText);
        int eosId = eos != null ? FindSpecial(eos) : FindSpecial(Llama3SpecialTokens.EndOfText);
        if (bos != null && bosId < 0) throw new ModelFormatException($"{configPath}: bos_token '{bos}' is not an added token of {path}");
        if (eos != null && eosId < 0) throw new ModelFormatException($"{configPath}: eos_token '{eos}' is not an added token of {path}");
        int padId = FindSpecial(pad);
        bool? addBos = config is { } c4 ? Bool(c4, "add_bos_token", configPath!) : null;
        bool? addEos = config is { } c5 ? Bool(c5, "add_eos_token", configPath!) : null;
        options = options with
        {
            BosId = bosId,
            EosId = eosId,
            PadId = padId,
            // As llama.cpp's converter and loader: the config's flag, else the template's, else BOS if there is one (llama-bpe's default).
            AddBos = addBos ?? (templateBos != -1 && bosId >= 0),
            AddEos = addEos ?? templateEos >= 0,
            ChatTemplate = config is { } c6 ? ChatTemplate(c6, configPath!) : null,
        };
        var tokenizer = new TiktokenTokenizer(tokens, types, options);
        CheckMerges(Property(model, "merges", JsonValueKind.Array, path), tokenizer, path);
        return tokenizer;
    }

    /// <summary>Llama 3's pre-tokenizer: a Split on its pattern (Isolated), then ByteLevel without its own regex or space prefix.</summary>
    private static void CheckPreTokenizer(JsonElement root, string path)
    {
        JsonElement pre = root.TryGetProperty("pre_tokenizer", out JsonElement p) ? p : default;
        bool ok = pre.ValueKind == JsonValueKind.Object && Str(pre, "type") == "Sequence"
            && pre.TryGetProperty("pretokenizers", out JsonElement steps) && steps.ValueKind == JsonValueKind.Array && steps.GetArrayLength() == 2
            && steps[0] is var split && split.ValueKind == JsonValueKind.Object && Str(split, "type") == "Split"
            && split.TryGetProperty("pattern", out JsonElement pattern) && pattern.ValueKind == JsonValueKind.Object && Str(pattern, "Regex") == Llama3PreTokenizer.Pattern
            && Str(split, "behavior") == "Isolated" && !(split.TryGetProperty("invert", out JsonElement invert) && invert.ValueKind == JsonValueKind.True)
            && steps[1] is var byteLevel && byteLevel.ValueKind == JsonValueKind.Object && Str(byteLevel, "type") == "ByteLevel"
            && !(byteLevel.TryGetProperty("use_regex", out JsonElement useRegex) && useRegex.ValueKind == JsonValueKind.True)
            && !(byteLevel.TryGetProperty("add_prefix_space", out JsonElement prefix) && prefix.ValueKind == JsonValueKind.True);
        if (!ok)
            throw new ModelFormatException($"{path}: pre_tokenizer {Short(pre)} is not Llama 3's (a Split on the Llama 3 pattern, then ByteLevel " +
                                           "with use_regex and add_prefix_space false); no other byte-level pre-tokenizer is supported");
    }

    /// <summary>The merges must be exactly the ones the ranks imply, in order (see <see cref="RankMerges"/>).</summary>
    private static void CheckMerges(JsonElement merges, TiktokenTokenizer tokenizer, string path)
    {
        IReadOnlyList<(int Left, int Right)> expected = tokenizer.Merges;
        int i = 0;
        foreach (JsonElement merge in merges.EnumerateArray())
        {
            string left, right;
            if (merge.ValueKind == JsonValueKind.String)
            {
                string text = merge.GetString()!;
                int space = text.IndexOf(' ');
                if (space <= 0 || space != text.LastIndexOf(' ') || space == text.Length - 1)
                    throw new ModelFormatException($"{path}: model.merges[{i}] '{text}' is not two tokens separated by a space");
                (left, right) = (text[..space], text[(space + 1)..]);
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2 && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            {
                (left, right) = (merge[0].GetString()!, merge[1].GetString()!);
            }
            else throw new ModelFormatException($"{path}: model.merges[{i}] {Short(merge)} is not a pair of tokens");
            if (i >= expected.Count)
                throw new ModelFormatException($"{path}: model.merges has more than the {expected.Count} merges the vocabulary's ranks imply (extra: '{left} {right}')");
            var (l, r) = expected[i];
            if (left != tokenizer.TokenText(l) || right != tokenizer.TokenText(r))
                throw new ModelFormatException($"{path}: model.merges[{i}] is '{left} {right}' but the vocabulary's ranks imply '{tokenizer.TokenText(l)} {tokenizer.TokenText(r)}'; " +
                                               "only vocabularies whose merges follow their ranks (tiktoken-style, as Llama 3's) are supported");
            i++;
        }
        if (i != expected.Count) throw new ModelFormatException($"{path}: model.merges has {i} merges but the vocabulary's ranks imply {expected.Count}");
    }

    /// <summary>The BOS/EOS ids a TemplateProcessing post-processor puts around a single sequence: (-1, -1) for none
    /// there, (-2, -2) when there is no template at all.</summary>
    private static (int Bos, int Eos) PostProcessorTemplate(JsonElement root)
    {
        if (!root.TryGetProperty("post_processor", out JsonElement post) || post.ValueKind != JsonValueKind.Object) return (-2, -2);
        JsonElement? template = Str(post, "type") == "TemplateProcessing" ? post : null;
        if (Str(post, "type") == "Sequence" && post.TryGetProperty("processors", out JsonElement processors) && processors.ValueKind == JsonValueKind.Array)
            foreach (JsonElement p in processors.EnumerateArray())
                if (p.ValueKind == JsonValueKind.Object && Str(p, "type") == "TemplateProcessing") template = p;
        if (template is not { } t || !t.TryGetProperty("single", out JsonElement single) || single.ValueKind != JsonValueKind.Array || single.GetArrayLength() == 0) return (-2, -2);
        int SpecialId(JsonElement item)
        {
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("SpecialToken", out JsonElement st) || Str(st, "id") is not { } name) return -1;
            if (!t.TryGetProperty("special_tokens", out JsonElement specials) || !specials.TryGetProperty(name, out JsonElement entry)
                || !entry.TryGetProperty("ids", out JsonElement ids) || ids.ValueKind != JsonValueKind.Array || ids.GetArrayLength() != 1) return -1;
            return ids[0].TryGetInt32(out int id) ? id : -1;
        }
        return (SpecialId(single[0]), SpecialId(single[single.GetArrayLength() - 1]));
    }

    private static void CheckConfigAddedTokens(JsonElement config, string[] names, string configPath)
    {
        if (!config.TryGetProperty("added_tokens_decoder", out JsonElement decoder) || decoder.ValueKind != JsonValueKind.Object) return;
        foreach (JsonProperty entry in decoder.EnumerateObject())
        {
            string? content = entry.Value.ValueKind == JsonValueKind.Object ? Str(entry.Value, "content") : null;
            if (!int.TryParse(entry.Name, out int id) || content == null)
                throw new ModelFormatException($"{configPath}: added_tokens_decoder['{entry.Name}'] is not an id with a content");
            if ((uint)id >= (uint)names.Length || names[id] != content)
                throw new ModelFormatException($"{configPath}: added_tokens_decoder names id {id} '{content}' but tokenizer.json has " +
                                               ((uint)id < (uint)names.Length && names[id].Length > 0 ? $"'{names[id]}'" : "no added token with that id"));
        }
    }

    private static string? TokenContent(JsonElement config, string key)
    {
        if (!config.TryGetProperty(key, out JsonElement value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object => Str(value, "content"),
            _ => null,
        };
    }

    private static string? ChatTemplate(JsonElement config, string configPath)
    {
        if (!config.TryGetProperty("chat_template", out JsonElement value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.String) return value.GetString();
        if (value.ValueKind == JsonValueKind.Array) // named templates: take "default"
            foreach (JsonElement named in value.EnumerateArray())
                if (named.ValueKind == JsonValueKind.Object && Str(named, "name") == "default") return Str(named, "template");
        throw new ModelFormatException($"{configPath}: chat_template is neither a string nor a list with a 'default' template");
    }

    private static bool? Bool(JsonElement config, string key, string configPath)
    {
        if (!config.TryGetProperty(key, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ModelFormatException($"{configPath}: {key} is {Short(value)}, not true or false"),
        };
    }

    private static bool HasByteLevel(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            if (Str(element, "type") == "ByteLevel") return true;
            foreach (JsonProperty p in element.EnumerateObject()) if (HasByteLevel(p.Value)) return true;
        }
        else if (element.ValueKind == JsonValueKind.Array)
            foreach (JsonElement item in element.EnumerateArray()) if (HasByteLevel(item)) return true;
        return false;
    }

    private static JsonElement Property(JsonElement obj, string name, JsonValueKind kind, string path) =>
        obj.TryGetProperty(name, out JsonElement value) && value.ValueKind == kind ? value
            : throw new ModelFormatException($"{path}: '{name}' is missing or not an {kind.ToString().ToLowerInvariant()}");

    private static string? Str(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Short(JsonElement value)
    {
        string text = value.ValueKind == JsonValueKind.Undefined ? "(missing)" : value.GetRawText();
        return text.Length > 200 ? text[..200] + "…" : text;
    }
}
