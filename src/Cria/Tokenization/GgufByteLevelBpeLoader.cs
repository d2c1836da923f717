using Cria.IO;
using System.Text;
using Cria.Formats.Gguf;

namespace Cria.Tokenization;

/// <summary>Reads a byte-level BPE vocabulary from GGUF metadata as llama.cpp writes it for Llama 3
/// (<c>tokenizer.ggml.model</c> = <c>gpt2</c>, <c>tokenizer.ggml.pre</c> = <c>llama-bpe</c>): tokens in byte-level
/// spelling (special tokens as their text, type control or user-defined), merges, special ids, add_bos/add_eos.</summary>
internal static class GgufByteLevelBpeLoader
{
    private const long NoToken = uint.MaxValue;

    /// <summary>llama.cpp's names for the Llama 3 pre-tokenizer.</summary>
    private static readonly string[] Llama3PreNames = ["llama-bpe", "llama3", "llama-v3"];

    /// <summary>True if the metadata holds a <c>gpt2</c> (byte-level BPE) vocabulary.</summary>
    public static bool IsByteLevelBpe(GgufMetadata metadata) => metadata.TryGet("tokenizer.ggml.model", out var v) && v.Value is "gpt2";

    public static TiktokenTokenizer Load(GgufMetadata metadata, string source)
    {
        try
        {
            return LoadCore(metadata, source);
        }
        catch (ModelFormatException e) when (!e.Message.StartsWith(source, StringComparison.Ordinal))
        {
            throw new ModelFormatException($"{source}: {e.Message}", e); // metadata errors name the key, not the file
        }
    }

    private static TiktokenTokenizer LoadCore(GgufMetadata md, string source)
    {
        string? model = md.GetString("tokenizer.ggml.model");
        if (model != "gpt2") throw new ModelFormatException($"{source}: tokenizer.ggml.model is '{model ?? "missing"}', not 'gpt2' (byte-level BPE)");
        string? pre = md.GetString("tokenizer.ggml.pre");
        if (pre == null || !Llama3PreNames.Contains(pre))
            throw new ModelFormatException($"{source}: tokenizer.ggml.pre is '{pre ?? "missing"}'; only Llama 3's pre-tokenizer ('llama-bpe') is supported");
        // As UTF-8, not strings: 128k tokens and 280k merges would otherwise be ~30 MB of objects held with the model.
        var tokens = md.GetUtf8Strings("tokenizer.ggml.tokens") ?? throw new ModelFormatException($"{source}: metadata 'tokenizer.ggml.tokens' is missing");
        long[] rawTypes = md.GetIntArray("tokenizer.ggml.token_type") ?? throw new ModelFormatException($"{source}: metadata 'tokenizer.ggml.token_type' is missing");
        var merges = md.GetUtf8Strings("tokenizer.ggml.merges") ?? throw new ModelFormatException($"{source}: metadata 'tokenizer.ggml.merges' is missing");
        if (rawTypes.Length != tokens.Count)
            throw new ModelFormatException($"{source}: 'tokenizer.ggml.token_type' has {rawTypes.Length} entries for {tokens.Count} tokens");

        var bytes = new byte[tokens.Count][];
        var types = new TokenType[tokens.Count];
        for (int id = 0; id < tokens.Count; id++)
        {
            types[id] = rawTypes[id] switch
            {
                (long)TokenType.Normal => TokenType.Normal,
                (long)TokenType.Control => TokenType.Control,
                (long)TokenType.UserDefined => TokenType.UserDefined,
                (long)TokenType.Unused => TokenType.Unused, // padding ("[PAD128256]") that llama.cpp's converter adds
                _ => throw new ModelFormatException($"{source}: token {id} ('{tokens.GetString(id)}') has type {rawTypes[id]}; a gpt2 vocabulary here has only normal (1), control (3), user-defined (4) and unused (5) tokens"),
            };
            if (types[id] != TokenType.Normal) bytes[id] = tokens[id].ToArray();
            else if (!ByteLevelAlphabet.TryReadUtf8(tokens[id], out bytes[id], out Rune bad))
                throw new ModelFormatException($"{source}: token {id} '{tokens.GetString(id)}' has U+{bad.Value:X4}, which is not a byte-level character");
        }

        var extraEnd = new List<int>();
        foreach (string key in (string[])["tokenizer.ggml.eom_token_id", "tokenizer.ggml.eot_token_id"]) // Meta's order: eos, eom, eot
        {
            int id = SpecialId(md, key, source);
            if (id >= 0) extraEnd.Add(id);
        }
        var tokenizer = new TiktokenTokenizer(bytes, types, new TiktokenOptions
        {
            Source = source,
            BosId = SpecialId(md, "tokenizer.ggml.bos_token_id", source),
            EosId = SpecialId(md, "tokenizer.ggml.eos_token_id", source),
            PadId = SpecialId(md, "tokenizer.ggml.padding_token_id", source),
            AddBos = md.GetBool("tokenizer.ggml.add_bos_token") ?? true, // llama.cpp's default for llama-bpe
            AddEos = md.GetBool("tokenizer.ggml.add_eos_token") ?? false,
            IgnoreMerges = true, // llama.cpp sets ignore_merges for the llama-bpe pre-tokenizer
            ExtraEndOfGenerationIds = extraEnd,
            ChatTemplate = md.GetString("tokenizer.chat_template"),
        });
        CheckMerges(merges, tokens, tokenizer, source);
        return tokenizer;
    }

    /// <summary>The merges must be the ones the ranks imply, in order (see <see cref="RankMerges"/>), each spelled as
    /// the two tokens' spellings in the file with a space between.</summary>
    private static void CheckMerges(PackedByteStrings merges, PackedByteStrings tokens, TiktokenTokenizer tokenizer, string source)
    {
        var expected = tokenizer.DeriveMerges(); // 2 MB for Llama 3 that the tokenizer need not keep
        if (merges.Count != expected.Length)
            throw new ModelFormatException($"{source}: 'tokenizer.ggml.merges' has {merges.Count} merges but the tokens' ranks imply {expected.Length}");
        for (int i = 0; i < merges.Count; i++)
        {
            ReadOnlySpan<byte> left = tokens[expected[i].Left], right = tokens[expected[i].Right], merge = merges[i];
            if (merge.Length != left.Length + 1 + right.Length || !merge.StartsWith(left) || merge[left.Length] != (byte)' ' || !merge.EndsWith(right))
                throw new ModelFormatException($"{source}: 'tokenizer.ggml.merges'[{i}] is '{merges.GetString(i)}' but the tokens' ranks imply " +
                                               $"'{tokenizer.TokenText(expected[i].Left)} {tokenizer.TokenText(expected[i].Right)}'; " +
                                               "only vocabularies whose merges follow their ranks (tiktoken-style, as Llama 3's) are supported");
        }
    }

    private static int SpecialId(GgufMetadata md, string key, string source)
    {
        long? value = md.GetInt(key);
        if (value is null or -1 or NoToken) return -1;
        return value is >= 0 and <= int.MaxValue ? (int)value : throw new ModelFormatException($"{source}: metadata '{key}' = {value} is not a token id");
    }
}
