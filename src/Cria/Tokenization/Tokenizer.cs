namespace Cria.Tokenization;

/// <summary>Turns text into token ids and ids back into bytes of text. One abstraction over every tokenizer
/// family and file layout; the model's own tokenizer is used unless the user names another.</summary>
public abstract class Tokenizer
{
    /// <summary>Number of ids (the model's vocabulary size).</summary>
    public abstract int VocabSize { get; }

    /// <summary>Beginning-of-sequence id, or -1 if the vocabulary has none.</summary>
    public int BosId { get; init; } = -1;

    /// <summary>End-of-sequence id, or -1 if the vocabulary has none.</summary>
    public int EosId { get; init; } = -1;

    public int UnknownId { get; init; } = -1;

    public int PadId { get; init; } = -1;

    /// <summary>Whether encoding a prompt should start with BOS (GGUF <c>tokenizer.ggml.add_bos_token</c>).</summary>
    public bool AddBos { get; init; } = true;

    /// <summary>Whether encoding should end with EOS (GGUF <c>tokenizer.ggml.add_eos_token</c>).</summary>
    public bool AddEos { get; init; }

    /// <summary>Ids that end generation (EOS and, per family, e.g. Llama 3's <c>&lt;|eot_id|&gt;</c>).</summary>
    public abstract IReadOnlyList<int> EndOfGenerationIds { get; }

    /// <summary>Encodes <paramref name="text"/>. Text that looks like a special token ("&lt;s&gt;", "&lt;|eot_id|&gt;") is
    /// ordinary text unless <paramref name="parseSpecial"/> is set; then it becomes that token's id.</summary>
    public abstract int[] Encode(string text, bool addBos, bool addEos = false, bool parseSpecial = false);

    /// <summary>Encodes with the tokenizer's own BOS/EOS rule.</summary>
    public int[] Encode(string text) => Encode(text, AddBos, AddEos);

    /// <summary>The token's piece as the vocabulary stores it (e.g. "▁the", "&lt;0x0A&gt;", "&lt;s&gt;").</summary>
    public abstract string TokenText(int id);

    public abstract TokenType GetTokenType(int id);

    /// <summary>The bytes <paramref name="id"/> contributes to decoded text (a byte token gives its byte, "▁" gives a
    /// space, control tokens give nothing). Bytes may be part of a UTF-8 character that the next tokens complete.</summary>
    public ReadOnlySpan<byte> DecodeBytes(int id) => DecodeBytes(id, showSpecial: false);

    /// <summary>As <see cref="DecodeBytes(int)"/>; with <paramref name="showSpecial"/>, special tokens give their text.</summary>
    public abstract ReadOnlySpan<byte> DecodeBytes(int id, bool showSpecial);

    /// <summary>Decodes a whole sequence to text, joining byte pieces into UTF-8 characters; special tokens are hidden.</summary>
    public string Decode(ReadOnlySpan<int> ids) => Decode(ids, showSpecial: false);

    /// <summary>Decodes a whole sequence; with <paramref name="showSpecial"/>, special tokens appear as their text.</summary>
    public abstract string Decode(ReadOnlySpan<int> ids, bool showSpecial);

    /// <summary>The tokenizer as GGUF metadata (<c>tokenizer.ggml.*</c> keys), as llama.cpp reads it.</summary>
    public abstract IReadOnlyList<KeyValuePair<string, Formats.Gguf.GgufValue>> ToGgufMetadata();

    /// <summary>The chat template stored with the tokenizer (GGUF <c>tokenizer.chat_template</c>, Hugging Face
    /// <c>tokenizer_config.json</c>), if any; it tells which chat format the model was tuned with.</summary>
    public string? ChatTemplate { get; init; }

    private Dictionary<string, int>? _idsByText;

    /// <summary>The id of the token whose text is exactly <paramref name="text"/> (e.g. "&lt;|eot_id|&gt;"), or -1.</summary>
    public int FindToken(string text)
    {
        var map = _idsByText;
        if (map == null)
        {
            map = new Dictionary<string, int>(VocabSize, StringComparer.Ordinal);
            for (int id = 0; id < VocabSize; id++) map.TryAdd(TokenText(id), id);
            _idsByText = map;
        }
        return map.TryGetValue(text, out int found) ? found : -1;
    }

    /// <summary>True when decoding drops the space the tokenizer put before the first word (SentencePiece's
    /// <c>add_space_prefix</c>), so a generator starting from a bare BOS should drop it too.</summary>
    public virtual bool StripsLeadingSpace => false;

    public bool IsEndOfGeneration(int id)
    {
        foreach (int e in EndOfGenerationIds) if (e == id) return true;
        return false;
    }
}
