using Cria.Formats.Gguf;

namespace Cria.Tokenization;

/// <summary>Reads a SentencePiece vocabulary from GGUF metadata (<c>tokenizer.ggml.*</c>, as llama.cpp writes and reads it).</summary>
internal static class GgufSentencePieceLoader
{
    private const long NoToken = uint.MaxValue; // converters write (uint32)-1 for "none"

    public static SentencePieceTokenizer Load(GgufMetadata metadata, string source)
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

    private static SentencePieceTokenizer LoadCore(GgufMetadata md, string source)
    {
        string? model = md.GetString("tokenizer.ggml.model");
        switch (model)
        {
            case null:
                throw new ModelFormatException($"{source}: no tokenizer in the file (metadata 'tokenizer.ggml.model' is missing)");
            case "llama":
                break;
            case "gpt2":
                throw new ModelFormatException($"{source}: tokenizer.ggml.model is 'gpt2', the byte-level BPE tokenizer of Llama 3, not SentencePiece; "
                    + "load it with TokenizerLoader.FromGguf or TiktokenTokenizer.FromGguf");
            default:
                throw new ModelFormatException($"{source}: tokenizer.ggml.model '{model}' is not supported (only SentencePiece, 'llama')");
        }
        string[] tokens = md.GetArray<string>("tokenizer.ggml.tokens")
            ?? throw new ModelFormatException($"{source}: metadata 'tokenizer.ggml.tokens' is missing");
        float[] scores = md.GetArray<float>("tokenizer.ggml.scores") ?? new float[tokens.Length];
        if (scores.Length != tokens.Length)
            throw new ModelFormatException($"{source}: 'tokenizer.ggml.scores' has {scores.Length} entries for {tokens.Length} tokens");

        int unk = SpecialId(md, "tokenizer.ggml.unknown_token_id", 0, source);
        int bos = SpecialId(md, "tokenizer.ggml.bos_token_id", 1, source);
        int eos = SpecialId(md, "tokenizer.ggml.eos_token_id", 2, source);
        int pad = SpecialId(md, "tokenizer.ggml.padding_token_id", -1, source);
        var extraEnd = new List<int>();
        foreach (string key in (string[])["tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"])
        {
            int id = SpecialId(md, key, -1, source);
            if (id >= 0) extraEnd.Add(id);
        }

        long[]? rawTypes = md.GetIntArray("tokenizer.ggml.token_type");
        TokenType[] types = rawTypes == null ? InferTypes(tokens, unk, bos, eos) : ToTypes(rawTypes, tokens.Length, source);

        return new SentencePieceTokenizer(tokens, scores, types, new SentencePieceOptions
        {
            BosId = bos,
            EosId = eos,
            UnknownId = unk,
            PadId = pad,
            AddBos = md.GetBool("tokenizer.ggml.add_bos_token") ?? true,
            AddEos = md.GetBool("tokenizer.ggml.add_eos_token") ?? false,
            AddSpacePrefix = md.GetBool("tokenizer.ggml.add_space_prefix") ?? true,
            ExtraEndOfGenerationIds = extraEnd,
            ChatTemplate = md.GetString("tokenizer.chat_template"),
            Source = source,
        });
    }

    private static int SpecialId(GgufMetadata md, string key, int fallback, string source)
    {
        long? value = md.GetInt(key);
        if (value is null) return fallback;
        if (value is -1 or NoToken) return -1;
        return value is >= 0 and <= int.MaxValue ? (int)value : throw new ModelFormatException($"{source}: metadata '{key}' = {value} is not a token id");
    }

    private static TokenType[] ToTypes(long[] raw, int tokenCount, string source)
    {
        if (raw.Length != tokenCount)
            throw new ModelFormatException($"{source}: 'tokenizer.ggml.token_type' has {raw.Length} entries for {tokenCount} tokens");
        var types = new TokenType[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] is < 0 or > (long)TokenType.Byte)
                throw new ModelFormatException($"{source}: 'tokenizer.ggml.token_type' of token {i} is {raw[i]}, not a SentencePiece type (0..6)");
            types[i] = (TokenType)raw[i];
        }
        return types;
    }

    /// <summary>Token types for files without <c>token_type</c>: the special ids, byte pieces by name, the rest normal.</summary>
    internal static TokenType[] InferTypes(IReadOnlyList<string> pieces, int unk, int bos, int eos)
    {
        var types = new TokenType[pieces.Count];
        for (int id = 0; id < types.Length; id++)
        {
            types[id] = id == unk ? TokenType.Unknown
                : id == bos || id == eos ? TokenType.Control
                : BytePiece.TryParse(pieces[id], out _) ? TokenType.Byte
                : TokenType.Normal;
        }
        return types;
    }
}
