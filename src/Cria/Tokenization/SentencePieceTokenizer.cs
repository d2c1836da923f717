using System.Buffers;
using System.Text;
using Cria.Formats.Gguf;

namespace Cria.Tokenization;

/// <summary>The Llama 1/2 tokenizer: SentencePiece BPE with byte fallback, exact to the token against sentencepiece
/// and llama.cpp. Text is normalised by turning ' ' into '▁' (and prefixing one '▁' when
/// <see cref="AddSpacePrefix"/>), and with <see cref="RemoveExtraWhitespaces"/> dropping extra spaces; no other
/// normalisation (Llama's model uses sentencepiece's "identity" rule). With special-token parsing, text is first split at
/// the texts of control, user-defined and unknown tokens as llama.cpp does, and each fragment is encoded alone.
/// Immutable after construction and safe to use from several threads.</summary>
public sealed class SentencePieceTokenizer : Tokenizer
{
    /// <summary>What an unknown token decodes to: U+2585 '▅', as llama.cpp rendered unknown tokens (sentencepiece
    /// writes " ⁇ ", llama.cpp now hides them unless asked for special tokens), so that one stays visible.</summary>
    public const string UnknownTokenText = "\u2585";

    private const char SpaceSymbol = '\u2581'; // '▁', sentencepiece's escaped space

    private readonly string[] _pieces;
    private readonly float[] _scores;
    private readonly TokenType[] _types;
    private readonly byte[][] _bytes;        // what each id contributes to decoded text
    private readonly byte[][] _specialBytes; // the same, with control/unknown tokens rendered as their text
    private readonly int[] _endOfGenerationIds;
    private readonly (string Text, int Id)[] _specialTokens; // what parseSpecial splits at, in llama.cpp's order
    private readonly SentencePieceBpe _bpe;

    /// <summary>Builds a tokenizer from a vocabulary's pieces, scores and token types (parallel lists, one entry per id).
    /// Throws <see cref="ModelFormatException"/> naming <see cref="SentencePieceOptions.Source"/> if they are inconsistent.</summary>
    public SentencePieceTokenizer(IReadOnlyList<string> pieces, IReadOnlyList<float> scores, IReadOnlyList<TokenType> types, SentencePieceOptions options)
    {
        string source = options.Source;
        if (pieces.Count == 0) throw new ModelFormatException($"{source}: the vocabulary is empty");
        if (scores.Count != pieces.Count) throw new ModelFormatException($"{source}: {pieces.Count} tokens but {scores.Count} scores");
        if (types.Count != pieces.Count) throw new ModelFormatException($"{source}: {pieces.Count} tokens but {types.Count} token types");
        _pieces = [.. pieces];
        _scores = [.. scores];
        _types = [.. types];
        for (int id = 0; id < _pieces.Length; id++)
        {
            if (_pieces[id] is null) throw new ModelFormatException($"{source}: token {id} has no piece");
            if (float.IsNaN(_scores[id])) throw new ModelFormatException($"{source}: token {id} ('{_pieces[id]}') has score NaN");
            if (!Enum.IsDefined(_types[id])) throw new ModelFormatException($"{source}: token {id} ('{_pieces[id]}') has unknown token type {(int)_types[id]}");
        }
        BosId = CheckSpecialId(options.BosId, "BOS", source);
        EosId = CheckSpecialId(options.EosId, "EOS", source);
        UnknownId = CheckSpecialId(options.UnknownId, "unknown", source);
        PadId = CheckSpecialId(options.PadId, "padding", source);
        AddBos = options.AddBos;
        AddEos = options.AddEos;
        AddSpacePrefix = options.AddSpacePrefix;
        ChatTemplate = options.ChatTemplate;
        RemoveExtraWhitespaces = options.RemoveExtraWhitespaces;
        AddSpacePrefixAfterSpecialTokens = options.AddSpacePrefixAfterSpecialTokens;
        if (AddBos && BosId < 0) throw new ModelFormatException($"{source}: BOS should be added but the vocabulary has no BOS token");
        if (AddEos && EosId < 0) throw new ModelFormatException($"{source}: EOS should be added but the vocabulary has no EOS token");
        var endIds = new List<int>();
        if (EosId >= 0) endIds.Add(EosId);
        foreach (int id in options.ExtraEndOfGenerationIds)
            if (CheckSpecialId(id, "end-of-generation", source) >= 0 && !endIds.Contains(id)) endIds.Add(id);
        _endOfGenerationIds = [.. endIds];
        _specialTokens = SpecialTokenSplitter.Prioritise(Enumerable.Range(0, _pieces.Length)
            .Where(id => _types[id] is TokenType.Control or TokenType.UserDefined or TokenType.Unknown)
            .Select(id => (_pieces[id], id)));
        _bpe = new SentencePieceBpe(_pieces, _scores, _types, UnknownId, source);
        (_bytes, _specialBytes) = BuildDecodeTables(_pieces, _types);
    }

    /// <summary>Loads the tokenizer of a GGUF file (<c>tokenizer.ggml.*</c>); only SentencePiece ("llama") vocabularies.</summary>
    /// <param name="metadata">The file's metadata.</param>
    /// <param name="source">The file's path, to name it in errors.</param>
    public static SentencePieceTokenizer FromGguf(GgufMetadata metadata, string? source = null) => GgufSentencePieceLoader.Load(metadata, source ?? "GGUF metadata");

    /// <summary>Loads the tokenizer of an open GGUF file.</summary>
    public static SentencePieceTokenizer FromGguf(GgufFile file) => FromGguf(file.Metadata, file.Path);

    /// <summary>Loads a llama2.c <c>tokenizer.bin</c>. Its vocabulary size is not stored in the file: pass the model's
    /// as <paramref name="expectedVocabSize"/> to have a mismatch reported here.</summary>
    public static SentencePieceTokenizer FromLlama2cFile(string path, int? expectedVocabSize = null) => Llama2cTokenizerReader.Read(path, expectedVocabSize);

    /// <summary>Loads a sentencepiece <c>tokenizer.model</c> (ModelProto protobuf; BPE with the identity normaliser, as
    /// Llama 1/2 ship it). BOS is added to encoded prompts when the model has a BOS piece, as llama.cpp does.</summary>
    public static SentencePieceTokenizer FromSentencePieceModel(string path, int? expectedVocabSize = null) => SentencePieceModelReader.Read(path, expectedVocabSize);

    /// <summary>Loads a Llama-2-style Hugging Face <c>tokenizer.json</c> (BPE with byte fallback and a '▁' space rule),
    /// with <c>tokenizer_config.json</c> from the same folder when present. Piece scores are the negated merge ranks.</summary>
    public static SentencePieceTokenizer FromHuggingFaceJson(string path, int? expectedVocabSize = null) =>
        HuggingFaceSentencePieceLoader.Load(path, expectedVocabSize) ?? throw new ModelFormatException(
            $"{path}: not a SentencePiece-style tokenizer.json (it needs a BPE model with '▁' for spaces; byte-level BPE is Llama 3's)");

    public override int VocabSize => _pieces.Length;

    /// <summary>Whether encoding adds a leading '▁' and decoding drops it (GGUF <c>tokenizer.ggml.add_space_prefix</c>).</summary>
    public bool AddSpacePrefix { get; }

    /// <summary>sentencepiece's <c>remove_extra_whitespaces</c> (see <see cref="SentencePieceOptions.RemoveExtraWhitespaces"/>).</summary>
    public bool RemoveExtraWhitespaces { get; }

    /// <summary>With special-token parsing, whether text after a special token gets the '▁' prefix too (see
    /// <see cref="SentencePieceOptions.AddSpacePrefixAfterSpecialTokens"/>).</summary>
    public bool AddSpacePrefixAfterSpecialTokens { get; }

    public override bool StripsLeadingSpace => AddSpacePrefix || RemoveExtraWhitespaces;

    /// <summary>True if text outside the vocabulary becomes <c>&lt;0xNN&gt;</c> byte tokens (Llama); false: one unknown id.</summary>
    public bool HasByteFallback => _bpe.HasByteFallback;

    public override IReadOnlyList<int> EndOfGenerationIds => _endOfGenerationIds;

    internal SentencePieceBpe Bpe => _bpe;

    public override string TokenText(int id) => _pieces[CheckId(id)];

    public override TokenType GetTokenType(int id) => _types[CheckId(id)];

    /// <summary>The piece's BPE merge score (higher merges first).</summary>
    public float GetScore(int id) => _scores[CheckId(id)];

    /// <summary>Encodes UTF-16 text. A lone surrogate is not text: it is encoded as U+FFFD, one per surrogate,
    /// which is what sentencepiece does for bytes that are not valid UTF-8.</summary>
    public override int[] Encode(string text, bool addBos, bool addEos = false, bool parseSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!parseSpecial) return Encode(text.AsSpan(), addBos, addEos);
        var ids = new List<int>(text.Length / 3 + 2);
        if (addBos) ids.Add(BosId >= 0 ? BosId : throw new InvalidOperationException("this vocabulary has no BOS token"));
        foreach (TextFragment fragment in SpecialTokenSplitter.Split(text, _specialTokens))
        {
            if (!fragment.IsText)
            {
                ids.Add(fragment.TokenId);
                continue;
            }
            // llama.cpp: every text fragment (each follows a special token or starts the text) gets the space prefix.
            bool prefix = AddSpacePrefix && (fragment.Start == 0 || AddSpacePrefixAfterSpecialTokens);
            EncodeText(text.AsSpan(fragment.Start, fragment.Length), ids, prefix);
        }
        if (addEos) ids.Add(EosId >= 0 ? EosId : throw new InvalidOperationException("this vocabulary has no EOS token"));
        return [.. ids];
    }

    /// <summary>Encodes UTF-16 text (see <see cref="Encode(string, bool, bool, bool)"/>).</summary>
    public int[] Encode(ReadOnlySpan<char> text, bool addBos, bool addEos = false)
    {
        var ids = new List<int>(text.Length / 3 + 2);
        if (addBos) ids.Add(BosId >= 0 ? BosId : throw new InvalidOperationException("this vocabulary has no BOS token"));
        EncodeText(text, ids, AddSpacePrefix);
        if (addEos) ids.Add(EosId >= 0 ? EosId : throw new InvalidOperationException("this vocabulary has no EOS token"));
        return [.. ids];
    }

    /// <summary>Encodes UTF-8 bytes exactly as sentencepiece does, including invalid input: each byte that does not
    /// start a valid character is encoded as U+FFFD.</summary>
    public int[] EncodeUtf8(ReadOnlySpan<byte> utf8, bool addBos, bool addEos = false)
    {
        char[] chars = ArrayPool<char>.Shared.Rent(Math.Max(utf8.Length, 1));
        try
        {
            int n = Utf8Replacement.Decode(utf8, chars, isFinal: true, out _);
            return Encode(chars.AsSpan(0, n), addBos, addEos);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    /// <summary>The bytes <paramref name="id"/> contributes; with <paramref name="showSpecial"/>, control and unknown
    /// tokens give their text ("&lt;s&gt;") instead of nothing / <see cref="UnknownTokenText"/>.</summary>
    public override ReadOnlySpan<byte> DecodeBytes(int id, bool showSpecial) => (showSpecial ? _specialBytes : _bytes)[CheckId(id)];

    /// <summary>Decodes as sentencepiece does: control tokens vanish, each run of byte tokens joins into UTF-8
    /// characters (a byte that cannot form one becomes U+FFFD; any other token ends the run), and with <see cref="AddSpacePrefix"/> the space that starts the first
    /// visible piece is dropped, also after a leading BOS.</summary>
    public override string Decode(ReadOnlySpan<int> ids, bool showSpecial) =>
        Decode(ids, new SentencePieceDecodeOptions(RemoveLeadingSpace: AddSpacePrefix || RemoveExtraWhitespaces, RenderSpecialTokens: showSpecial,
            RemoveExtraWhitespaces: RemoveExtraWhitespaces));

    /// <summary>The vocabulary as llama.cpp's GGUF keys (model "llama": tokens, scores, types, special ids, flags).
    /// <see cref="RemoveExtraWhitespaces"/> and <see cref="AddSpacePrefixAfterSpecialTokens"/> have no GGUF key that
    /// llama.cpp honours for this model, so they are not written, as llama.cpp's own converter does not write them.</summary>
    public override IReadOnlyList<KeyValuePair<string, GgufValue>> ToGgufMetadata()
    {
        var entries = new List<KeyValuePair<string, GgufValue>>
        {
            new("tokenizer.ggml.model", GgufValue.Of("llama")),
            new("tokenizer.ggml.tokens", GgufValue.OfArray(_pieces)),
            new("tokenizer.ggml.scores", GgufValue.OfArray(_scores)),
            new("tokenizer.ggml.token_type", GgufValue.OfArray(_types.Select(t => (int)t).ToArray())),
        };
        void Id(string key, int id)
        {
            if (id >= 0) entries.Add(new(key, GgufValue.Of((uint)id)));
        }
        Id("tokenizer.ggml.bos_token_id", BosId);
        Id("tokenizer.ggml.eos_token_id", EosId);
        Id("tokenizer.ggml.unknown_token_id", UnknownId);
        Id("tokenizer.ggml.padding_token_id", PadId);
        entries.Add(new("tokenizer.ggml.add_bos_token", GgufValue.Of(AddBos)));
        entries.Add(new("tokenizer.ggml.add_eos_token", GgufValue.Of(AddEos)));
        entries.Add(new("tokenizer.ggml.add_space_prefix", GgufValue.Of(AddSpacePrefix)));
        if (ChatTemplate != null) entries.Add(new("tokenizer.chat_template", GgufValue.Of(ChatTemplate)));
        return entries;
    }

    /// <summary>Decodes with explicit options (see <see cref="SentencePieceDecodeOptions"/>).</summary>
    public string Decode(ReadOnlySpan<int> ids, SentencePieceDecodeOptions options)
    {
        if (options.SkipLeadingBos && !ids.IsEmpty && ids[0] == BosId) ids = ids[1..];
        byte[][] table = options.RenderSpecialTokens ? _specialBytes : _bytes;
        int total = 0;
        foreach (int id in ids) total += table[CheckId(id)].Length;
        byte[] run = ArrayPool<byte>.Shared.Rent(Math.Max(total, 1));
        char[] chars = ArrayPool<char>.Shared.Rent(Math.Max(total, 1)); // every byte gives at most one char
        try
        {
            int runLength = 0, written = 0;
            bool stripPending = options.RemoveLeadingSpace;
            foreach (int id in ids)
            {
                ReadOnlySpan<byte> bytes = table[id];
                // sentencepiece under remove_extra_whitespaces: every piece loses its '▁' while no text has appeared.
                if (options.RemoveExtraWhitespaces && written == 0 && runLength == 0) stripPending = options.RemoveLeadingSpace;
                if (stripPending && !bytes.IsEmpty)
                {
                    // Only the first visible piece may lose its '▁'; a byte token's space is real text.
                    if (bytes[0] == (byte)' ' && IsTextPiece(_types[id])) bytes = bytes[1..];
                    stripPending = false;
                }
                if (_types[id] == TokenType.Byte)
                {
                    run[runLength++] = bytes[0];
                    continue;
                }
                // As in sentencepiece, any other token (even an invisible one) ends a run of byte tokens.
                written += Utf8Replacement.Decode(run.AsSpan(0, runLength), chars.AsSpan(written), isFinal: true, out _);
                runLength = 0;
                written += Encoding.UTF8.GetChars(bytes, chars.AsSpan(written));
            }
            written += Utf8Replacement.Decode(run.AsSpan(0, runLength), chars.AsSpan(written), isFinal: true, out _);
            return new string(chars, 0, written);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
            ArrayPool<byte>.Shared.Return(run);
        }
    }

    private void EncodeText(ReadOnlySpan<char> text, List<int> ids, bool addSpacePrefix)
    {
        if (text.IsEmpty) return;
        int length = text.Length + (addSpacePrefix ? 1 : 0);
        char[] buffer = ArrayPool<char>.Shared.Rent(length);
        try
        {
            Span<char> normalized = buffer.AsSpan(0, length);
            if (addSpacePrefix) normalized[0] = SpaceSymbol;
            Span<char> body = normalized[(length - text.Length)..];
            if (RemoveExtraWhitespaces)
            {
                normalized = normalized[..RemoveExtraSpaces(text, normalized, addSpacePrefix)];
                body = normalized;
            }
            else text.Replace(body, ' ', SpaceSymbol);
            if (body.ContainsAnyInRange('\uD800', '\uDFFF')) ReplaceLoneSurrogates(body);
            _bpe.Encode(normalized, ids);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    /// <summary>sentencepiece's normaliser with <c>remove_extra_whitespaces</c>: leading spaces dropped, each run of
    /// spaces written as one '▁', and every '▁' at the end dropped (a literal '▁' in the text too, and the prefix if
    /// nothing follows it). Only ' ' is a space here, as in sentencepiece. Returns the normalised length.</summary>
    private static int RemoveExtraSpaces(ReadOnlySpan<char> text, Span<char> normalized, bool addSpacePrefix)
    {
        int n = addSpacePrefix ? 1 : 0;
        bool previousWasSpace = true; // so leading spaces are dropped
        foreach (char c in text)
        {
            if (c == ' ')
            {
                if (previousWasSpace) continue;
                normalized[n++] = SpaceSymbol;
                previousWasSpace = true;
            }
            else
            {
                normalized[n++] = c;
                previousWasSpace = false;
            }
        }
        while (n > 0 && normalized[n - 1] == SpaceSymbol) n--;
        return n;
    }

    private static void ReplaceLoneSurrogates(Span<char> text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (!char.IsSurrogate(text[i])) continue;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else text[i] = Utf8Replacement.ReplacementChar;
        }
    }

    private static bool IsTextPiece(TokenType type) => type is TokenType.Normal or TokenType.Undefined or TokenType.UserDefined or TokenType.Unused;

    private static (byte[][] Plain, byte[][] Special) BuildDecodeTables(string[] pieces, TokenType[] types)
    {
        var plain = new byte[pieces.Length][];
        var special = new byte[pieces.Length][];
        byte[] unknown = Encoding.UTF8.GetBytes(UnknownTokenText);
        for (int id = 0; id < pieces.Length; id++)
        {
            plain[id] = types[id] switch
            {
                TokenType.Byte => [BytePieceValue(pieces[id])],
                TokenType.Control => [],
                TokenType.Unknown => unknown,
                _ => Encoding.UTF8.GetBytes(pieces[id].Replace(SpaceSymbol, ' ')),
            };
            special[id] = types[id] is TokenType.Control or TokenType.Unknown ? Encoding.UTF8.GetBytes(pieces[id]) : plain[id];
        }
        return (plain, special);
    }

    private static byte BytePieceValue(string piece) => BytePiece.TryParse(piece, out byte b) ? b : throw new InvalidOperationException("unreachable: byte pieces are validated");

    private int CheckSpecialId(int id, string what, string source) =>
        id == -1 || (uint)id < (uint)_pieces.Length ? id : throw new ModelFormatException($"{source}: {what} id {id} is outside the vocabulary (0..{_pieces.Length - 1}, or -1 for none)");

    private int CheckId(int id) => (uint)id < (uint)_pieces.Length ? id : throw new ArgumentOutOfRangeException(nameof(id), id, $"token id outside the vocabulary (0..{_pieces.Length - 1})");
}
