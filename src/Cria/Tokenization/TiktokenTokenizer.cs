using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using Cria.Formats.Gguf;
using Cria.IO;

namespace Cria.Tokenization;

/// <summary>The Llama 3 tokenizer: byte-level BPE over token ranks as Meta's tiktoken-based <c>tokenizer.py</c> does
/// it, exact to the token. Text is cut into Meta's chunks (<see cref="MetaTextChunker"/>), split by Llama 3's
/// pattern (<see cref="Llama3PreTokenizer"/>), and each piece's UTF-8 bytes become one token if the piece is in the
/// vocabulary ("ignore merges"), else the result of rank-ordered merges (<see cref="BytePairMerger"/>). A token's
/// id is its rank. Special tokens (ids after the ranks) are ordinary text unless asked for. Loads the same
/// tokenizer from Meta's <c>tokenizer.model</c>, Hugging Face <c>tokenizer.json</c> and GGUF (<c>gpt2</c> /
/// <c>llama-bpe</c>). Immutable after construction and safe to use from several threads.</summary>
public sealed class TiktokenTokenizer : Tokenizer
{
    private readonly PackedByteStrings _bytes;   // each id's bytes: a rank's token, or a special token's UTF-8 text
    private readonly TokenType[] _types;         // Normal for ranks; Control or UserDefined for special tokens; Unused for padding
    private readonly ByteSequenceTable _ranks;   // token bytes → id, ranks only
    private readonly BytePairMerger _merger;
    private readonly MergeCache _mergeCache = new();
    private readonly SpecialTokenMatcher _allSpecial;    // every special token, for parseSpecial
    private readonly SpecialTokenMatcher _alwaysSpecial; // user-defined tokens, split out of any text (as HF and llama.cpp do)
    private readonly int[] _endOfGenerationIds;
    private readonly Lazy<string[]> _spelled;    // TokenText: byte-level spelling of ranks, special tokens as they are
    private readonly Lazy<(int Left, int Right)[]> _merges;

    /// <summary>Builds a tokenizer from each id's bytes and type (parallel arrays). Ids of type
    /// <see cref="TokenType.Normal"/> are ranks (their bytes unique, all 256 single bytes among them); ids of type
    /// <see cref="TokenType.Control"/> or <see cref="TokenType.UserDefined"/> are special tokens whose bytes are
    /// their UTF-8 text (user-defined ones are split out of any text, control ones only when asked); ids of type
    /// <see cref="TokenType.Unused"/> (padding) are never produced. Throws <see cref="ModelFormatException"/> naming <see cref="TiktokenOptions.Source"/>.</summary>
    public TiktokenTokenizer(IReadOnlyList<byte[]> tokenBytes, IReadOnlyList<TokenType> types, TiktokenOptions options)
    {
        string source = options.Source;
        if (tokenBytes.Count != types.Count) throw new ModelFormatException($"{source}: {tokenBytes.Count} tokens but {types.Count} token types");
        if (tokenBytes.Count == 0) throw new ModelFormatException($"{source}: the vocabulary is empty");
        _types = [.. types];
        var rankBytes = new List<byte[]>(tokenBytes.Count);
        var rankIds = new List<int>(tokenBytes.Count);
        var special = new List<(string, int)>();
        var userDefined = new List<(string, int)>();
        for (int id = 0; id < tokenBytes.Count; id++)
        {
            byte[] bytes = tokenBytes[id] ?? throw new ModelFormatException($"{source}: token {id} has no bytes");
            switch (_types[id])
            {
                case TokenType.Normal:
                    if (bytes.Length == 0) throw new ModelFormatException($"{source}: token {id} is empty");
                    rankBytes.Add(bytes);
                    rankIds.Add(id);
                    break;
                case TokenType.Unused: // never produced by encoding, hidden in decoding like a control token
                    break;
                case TokenType.Control or TokenType.UserDefined:
                    string text = Encoding.UTF8.GetString(bytes);
                    if (text.Length == 0) throw new ModelFormatException($"{source}: special token {id} has no text");
                    special.Add((text, id));
                    if (_types[id] == TokenType.UserDefined) userDefined.Add((text, id));
                    break;
                default:
                    throw new ModelFormatException($"{source}: token {id} has type {_types[id]}; a byte-level BPE vocabulary has only normal, control, user-defined and unused tokens");
            }
        }
        _bytes = new PackedByteStrings(tokenBytes.Count);
        foreach (byte[] bytes in tokenBytes) _bytes.Add(bytes);
        _bytes.TrimExcess();
        _ranks = new ByteSequenceTable(rankBytes, rankIds, out int duplicate);
        if (duplicate >= 0)
        {
            int first = rankIds[rankBytes.FindIndex(b => b.AsSpan().SequenceEqual(rankBytes[duplicate]))];
            throw new ModelFormatException($"{source}: tokens {first} and {rankIds[duplicate]} have the same bytes ({Convert.ToHexString(rankBytes[duplicate])})");
        }
        for (int b = 0; b < 256; b++)
        {
            byte one = (byte)b;
            if (_ranks.Find(new ReadOnlySpan<byte>(in one)) < 0)
                throw new ModelFormatException($"{source}: no token is the single byte 0x{b:X2}; a byte-level BPE vocabulary needs all 256");
        }
        _merger = new BytePairMerger(_ranks);
        _allSpecial = new SpecialTokenMatcher(special);
        _alwaysSpecial = new SpecialTokenMatcher(userDefined);

        BosId = CheckId(options.BosId, "BOS", source);
        EosId = CheckId(options.EosId, "EOS", source);
        PadId = CheckId(options.PadId, "padding", source);
        AddBos = options.AddBos;
        AddEos = options.AddEos;
        IgnoreMerges = options.IgnoreMerges;
        ChatTemplate = options.ChatTemplate;
        if (AddBos && BosId < 0) throw new ModelFormatException($"{source}: BOS should be added but there is no BOS token");
        if (AddEos && EosId < 0) throw new ModelFormatException($"{source}: EOS should be added but there is no EOS token");

        // As Meta's stop_tokens (eos, eom, eot) and llama.cpp's end-of-generation set: EOS, then these names where present.
        var end = new List<int>();
        void AddEnd(int id)
        {
            if (id >= 0 && !end.Contains(id)) end.Add(id);
        }
        AddEnd(EosId);
        foreach (int id in options.ExtraEndOfGenerationIds) AddEnd(CheckId(id, "end-of-generation", source));
        foreach (string name in (string[])[Llama3SpecialTokens.EndOfText, Llama3SpecialTokens.EndOfMessage, Llama3SpecialTokens.EndOfTurn])
            AddEnd(SpecialTokenId(name));
        _endOfGenerationIds = [.. end];

        _spelled = new(SpellAll);
        _merges = new(() => RankMerges.Derive(_bytes, _types, _ranks));
    }

    /// <summary>Loads Meta's <c>tokenizer.model</c> (lines of <c>base64(token bytes) rank</c>) and names the 256 special
    /// tokens after the ranks as <paramref name="names"/> does (Llama 3.1 by default). BOS is added, EOS is
    /// <c>&lt;|end_of_text|&gt;</c>, as in Meta's <c>tokenizer.py</c>.</summary>
    public static TiktokenTokenizer FromTiktokenFile(string path, Llama3SpecialTokenNames names = Llama3SpecialTokenNames.Llama3_1) =>
        TiktokenFileReader.Read(path, names);

    /// <summary>Loads a Hugging Face <c>tokenizer.json</c> (byte-level BPE with Llama 3's pre-tokenizer) and the
    /// <c>tokenizer_config.json</c> beside it, or <paramref name="configPath"/> (BOS/EOS tokens, add_bos/add_eos, chat template).</summary>
    public static TiktokenTokenizer FromHuggingFace(string tokenizerJsonPath, string? configPath = null) =>
        HuggingFaceByteLevelBpeReader.Read(tokenizerJsonPath, configPath);

    /// <summary>Loads a GGUF <c>gpt2</c> vocabulary with the <c>llama-bpe</c> pre-tokenizer (<c>tokenizer.ggml.*</c>).</summary>
    public static TiktokenTokenizer FromGguf(GgufMetadata metadata, string? source = null) => GgufByteLevelBpeLoader.Load(metadata, source ?? "GGUF metadata");

    public override int VocabSize => _bytes.Count;

    /// <summary>True (Llama 3, tiktoken): a piece found whole in the vocabulary is one token, without merging.
    /// False only for a Hugging Face file that says <c>"ignore_merges": false</c>.</summary>
    public bool IgnoreMerges { get; }

    /// <summary>Number of BPE ranks (128,000 for Llama 3); special tokens are the other ids.</summary>
    public int RankCount => _ranks.Count;

    public override IReadOnlyList<int> EndOfGenerationIds => _endOfGenerationIds;

    internal BytePairMerger Merger => _merger;

    /// <summary>The id of the special token spelled <paramref name="text"/>, or -1.</summary>
    public int SpecialTokenId(string text)
    {
        int id = _allSpecial.FindFirst(text, out int start, out int length);
        return id >= 0 && start == 0 && length == text.Length ? id : -1;
    }

    /// <summary>Encodes <paramref name="text"/> as Meta's <c>Tokenizer.encode</c> does. A lone surrogate (not text)
    /// becomes U+FFFD, as tiktoken makes of it. With <paramref name="parseSpecial"/>, special-token text becomes
    /// the special token (Meta's <c>allowed_special="all"</c>); without it, it is ordinary text.</summary>
    public override int[] Encode(string text, bool addBos, bool addEos = false, bool parseSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encode(text.AsSpan(), addBos, addEos, parseSpecial);
    }

    /// <summary>Encodes UTF-16 text (see <see cref="Encode(string, bool, bool, bool)"/>).</summary>
    public int[] Encode(ReadOnlySpan<char> text, bool addBos, bool addEos = false, bool parseSpecial = false)
    {
        var ids = new List<int>(text.Length / 4 + 2);
        if (addBos) ids.Add(BosId >= 0 ? BosId : throw new InvalidOperationException("this vocabulary has no BOS token"));
        SpecialTokenMatcher? specials = parseSpecial ? _allSpecial : _alwaysSpecial;
        if (specials.IsEmpty) specials = null;
        byte[] scratch = ArrayPool<byte>.Shared.Rent(256);
        try
        {
            var chunks = new MetaTextChunker(text);
            while (chunks.MoveNext(out int start, out int end))
            {
                ReadOnlySpan<char> chunk = text[start..end];
                while (specials != null)
                {
                    int id = specials.FindFirst(chunk, out int at, out int length);
                    if (id < 0) break;
                    EncodeOrdinary(chunk[..at], ids, ref scratch);
                    ids.Add(id);
                    chunk = chunk[(at + length)..];
                }
                EncodeOrdinary(chunk, ids, ref scratch);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
        if (addEos) ids.Add(EosId >= 0 ? EosId : throw new InvalidOperationException("this vocabulary has no EOS token"));
        return [.. ids];
    }

    /// <summary>The token's text as the vocabulary spells it: byte-level characters for a rank ("Ġthe" for " the"),
    /// the name for a special token.</summary>
    public override string TokenText(int id) => _spelled.Value[CheckId(id)];

    public override TokenType GetTokenType(int id) => _types[CheckId(id)];

    /// <summary>The token's bytes; a control token gives nothing unless <paramref name="showSpecial"/>.</summary>
    public override ReadOnlySpan<byte> DecodeBytes(int id, bool showSpecial) =>
        _types[CheckId(id)] is TokenType.Control or TokenType.Unused && !showSpecial ? [] : _bytes[id];

    /// <summary>Joins the tokens' bytes and decodes them as UTF-8; bytes that form no character become U+FFFD
    /// (as tiktoken's <c>decode</c>, <c>errors="replace"</c>). Control tokens are hidden unless <paramref name="showSpecial"/>.</summary>
    public override string Decode(ReadOnlySpan<int> ids, bool showSpecial)
    {
        int total = 0;
        foreach (int id in ids) total += DecodeBytes(id, showSpecial).Length;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(total, 1));
        try
        {
            int written = 0;
            foreach (int id in ids)
            {
                ReadOnlySpan<byte> bytes = DecodeBytes(id, showSpecial);
                bytes.CopyTo(buffer.AsSpan(written));
                written += bytes.Length;
            }
            return Encoding.UTF8.GetString(buffer, 0, written);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The merges that the ranks imply, in rank order, as Hugging Face's <c>TikTokenConverter</c> derives them
    /// (and so as Meta's <c>tokenizer.json</c> and llama.cpp's Llama 3 GGUFs hold them): for each token, every split
    /// into two tokens, ordered by the ranks of the halves.</summary>
    public IReadOnlyList<(int Left, int Right)> Merges => _merges.Value;

    /// <summary>The merges, derived anew and not kept (a loader checks a file's merges once against them).</summary>
    internal (int Left, int Right)[] DeriveMerges() => _merges.IsValueCreated ? _merges.Value : RankMerges.Derive(_bytes, _types, _ranks);

    /// <summary>The vocabulary as llama.cpp's GGUF keys: model <c>gpt2</c>, pre-tokenizer <c>llama-bpe</c>, tokens in
    /// byte-level spelling, token types, merges in rank order, special ids and flags, and the chat template if any.</summary>
    public override IReadOnlyList<KeyValuePair<string, GgufValue>> ToGgufMetadata()
    {
        string[] tokens = _spelled.Value;
        var merges = new string[Merges.Count];
        for (int i = 0; i < merges.Length; i++) merges[i] = tokens[Merges[i].Left] + " " + tokens[Merges[i].Right];
        var entries = new List<KeyValuePair<string, GgufValue>>
        {
            new("tokenizer.ggml.model", GgufValue.Of("gpt2")),
            new("tokenizer.ggml.pre", GgufValue.Of("llama-bpe")),
            new("tokenizer.ggml.tokens", GgufValue.OfArray(tokens)),
            new("tokenizer.ggml.token_type", GgufValue.OfArray(_types.Select(t => (int)t).ToArray())),
            new("tokenizer.ggml.merges", GgufValue.OfArray(merges)),
        };
        void Id(string key, int id)
        {
            if (id >= 0) entries.Add(new(key, GgufValue.Of((uint)id)));
        }
        Id("tokenizer.ggml.bos_token_id", BosId);
        Id("tokenizer.ggml.eos_token_id", EosId);
        Id("tokenizer.ggml.eot_token_id", SpecialTokenId(Llama3SpecialTokens.EndOfTurn));
        Id("tokenizer.ggml.eom_token_id", SpecialTokenId(Llama3SpecialTokens.EndOfMessage));
        Id("tokenizer.ggml.padding_token_id", PadId);
        entries.Add(new("tokenizer.ggml.add_bos_token", GgufValue.Of(AddBos)));
        entries.Add(new("tokenizer.ggml.add_eos_token", GgufValue.Of(AddEos)));
        if (ChatTemplate != null) entries.Add(new("tokenizer.chat_template", GgufValue.Of(ChatTemplate)));
        return entries;
    }

    /// <summary>Splits text without special tokens into Llama 3 pieces and encodes each.</summary>
    private void EncodeOrdinary(ReadOnlySpan<char> text, List<int> ids, ref byte[] scratch)
    {
        for (int i = 0; i < text.Length;)
        {
            int end = Llama3PreTokenizer.PieceEnd(text, i);
            ReadOnlySpan<char> piece = text[i..end];
            i = end;
            int max = piece.Length * 3; // UTF-8 bytes per UTF-16 char, at most (a lone surrogate gives U+FFFD's 3)
            if (scratch.Length < max)
            {
                ArrayPool<byte>.Shared.Return(scratch);
                scratch = ArrayPool<byte>.Shared.Rent(max);
            }
            int length = ToUtf8(piece, scratch);
            ReadOnlySpan<byte> bytes = scratch.AsSpan(0, length);
            if (IgnoreMerges)
            {
                int whole = _ranks.Find(bytes);
                if (whole >= 0)
                {
                    ids.Add(whole);
                    continue;
                }
            }
            if (bytes.Length > MergeCache.MaxPieceBytes)
            {
                _merger.Merge(bytes, ids);
                continue;
            }
            ulong hash = ByteSequenceTable.Hash(bytes, out _);
            if (_mergeCache.Find(bytes, hash) is { } cached)
            {
                ids.AddRange(cached);
                continue;
            }
            int first = ids.Count;
            _merger.Merge(bytes, ids);
            _mergeCache.Add(bytes, hash, CollectionsMarshal.AsSpan(ids)[first..]);
        }
    }

    /// <summary>UTF-8 of a piece (lone surrogates as U+FFFD); ASCII, most pieces, without the encoder's call overhead.</summary>
    private static int ToUtf8(ReadOnlySpan<char> piece, byte[] destination)
    {
        int i = 0;
        for (; i < piece.Length; i++)
        {
            char c = piece[i];
            if (c >= 0x80) return i + Encoding.UTF8.GetBytes(piece[i..], destination.AsSpan(i));
            destination[i] = (byte)c;
        }
        return i;
    }

    private string[] SpellAll()
    {
        var spelled = new string[_bytes.Count];
        for (int id = 0; id < spelled.Length; id++)
            spelled[id] = _types[id] == TokenType.Normal ? ByteLevelAlphabet.Spell(_bytes[id]) : Encoding.UTF8.GetString(_bytes[id]);
        return spelled;
    }

    private int CheckId(int id, string what, string source) =>
        id == -1 || (uint)id < (uint)_bytes.Count ? id : throw new ModelFormatException($"{source}: {what} id {id} is outside the vocabulary (0..{_bytes.Count - 1}, or -1 for none)");

    private int CheckId(int id) => (uint)id < (uint)_bytes.Count ? id : throw new ArgumentOutOfRangeException(nameof(id), id, $"token id outside the vocabulary (0..{_bytes.Count - 1})");
}
