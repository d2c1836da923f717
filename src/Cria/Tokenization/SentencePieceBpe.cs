using System.Buffers;
using System.Text;

namespace Cria.Tokenization;

/// <summary>SentencePiece BPE segmentation (sentencepiece <c>bpe_model.cc</c>, llama.cpp <c>llm_tokenizer_spm</c>):
/// split normalised text into characters, repeatedly merge the adjacent pair whose concatenation is the
/// best-scoring piece (ties: leftmost), then map each final symbol to its id, falling back to byte pieces
/// (or one unknown id per run) for text outside the vocabulary. O(n log n) over a linked list of symbols.</summary>
internal sealed class SentencePieceBpe
{
    private struct Symbol
    {
        public int Start;   // in chars of the normalised text
        public int Length;  // 0 once merged into its left neighbour
        public int Prev;
        public int Next;
        public bool Frozen; // user-defined pieces are never merged further
    }

    private const char SpaceSymbol = '\u2581';

    private readonly float[] _scores;
    private readonly TokenType[] _types;
    // Pieces a merge may produce: normal, user-defined and unused (sentencepiece's pieces_; never control/byte/unknown).
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _pieces;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _userDefined;
    private readonly int _maxPieceChars;
    private readonly int _maxUserDefinedChars; // 0: the vocabulary has none
    private readonly bool _hasUnused;

    private readonly int[]? _byteIds;          // null: no byte fallback, unknown text becomes UnknownId
    private readonly int _unknownId;

    public SentencePieceBpe(IReadOnlyList<string> pieces, float[] scores, TokenType[] types, int unknownId, string source)
    {
        _scores = scores;
        _types = types;
        _unknownId = unknownId;
        var mergeable = new Dictionary<string, int>(pieces.Count, StringComparer.Ordinal);
        var userDefined = new Dictionary<string, int>(StringComparer.Ordinal);
        var byteIds = new int[256];
        Array.Fill(byteIds, -1);
        int byteCount = 0;
        for (int id = 0; id < pieces.Count; id++)
        {
            string piece = pieces[id];
            switch (types[id])
            {
                case TokenType.Normal or TokenType.Undefined or TokenType.Unused or TokenType.UserDefined:
                    if (piece.Length == 0) throw new ModelFormatException($"{source}: token {id} is an empty {types[id]} piece");
                    if (!mergeable.TryAdd(piece, id)) break; // duplicate piece: the first id wins
                    _maxPieceChars = Math.Max(_maxPieceChars, piece.Length);
                    if (types[id] == TokenType.UserDefined && userDefined.TryAdd(piece, id))
                        _maxUserDefinedChars = Math.Max(_maxUserDefinedChars, piece.Length);
                    _hasUnused |= types[id] == TokenType.Unused;
                    break;
                case TokenType.Byte:
                    if (!BytePiece.TryParse(piece, out byte b))
                        throw new ModelFormatException($"{source}: token {id} has type Byte but its piece '{piece}' is not <0xNN>");
                    if (byteIds[b] >= 0)
                        throw new ModelFormatException($"{source}: byte piece '{piece}' appears twice (tokens {byteIds[b]} and {id})");
                    byteIds[b] = id;
                    byteCount++;
                    break;
            }
        }
        if (byteCount is > 0 and < 256)
            throw new ModelFormatException($"{source}: the vocabulary has {byteCount} of the 256 byte pieces <0x00>…<0xFF>; byte fallback needs all of them");
        if (byteCount == 0 && unknownId < 0)
            throw new ModelFormatException($"{source}: the vocabulary has neither byte pieces nor an unknown token, so text outside it cannot be encoded");
        _byteIds = byteCount == 256 ? byteIds : null;
        SplitAtWords = !_hasUnused && !mergeable.Keys.Any(HasSpaceInside);
        _pieces = mergeable.GetAlternateLookup<ReadOnlySpan<char>>();
        _userDefined = userDefined.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    private static bool HasSpaceInside(string piece)
    {
        for (int i = 1; i < piece.Length; i++)
            if (piece[i] == SpaceSymbol && piece[i - 1] != SpaceSymbol) return true;
        return false;
    }

    /// <summary>True when no piece has '▁' after another character and none is unused: then no merge crosses the start
    /// of a word, and encoding word by word gives the same ids with a small heap (8x faster on long text). Tests turn
    /// it off to compare.</summary>
    internal bool SplitAtWords { get; set; }

    /// <summary>True if text outside the vocabulary is encoded as <c>&lt;0xNN&gt;</c> byte pieces.</summary>
    public bool HasByteFallback => _byteIds != null;

    /// <summary>Appends the ids of <paramref name="text"/> (already normalised: '▁' for spaces, no lone surrogates).</summary>
    public void Encode(ReadOnlySpan<char> text, List<int> output)
    {
        if (text.IsEmpty) return;
        Symbol[] symbols = ArrayPool<Symbol>.Shared.Rent(text.Length);
        using var queue = new BigramQueue(64);
        Dictionary<int, int>? revMerge = _hasUnused ? new() : null;
        bool previousWasUnknown = false;
        try
        {
            if (!SplitAtWords)
            {
                EncodeSegment(text, symbols, queue, revMerge, output, ref previousWasUnknown);
                return;
            }
            // Each word ("▁" run + the text up to the next "▁" run) is encoded alone: same result, small heap.
            int start = 0;
            while (true)
            {
                int next = NextWordStart(text, start);
                EncodeSegment(text[start..next], symbols, queue, revMerge, output, ref previousWasUnknown);
                if (next == text.Length) break;
                start = next;
            }
        }
        finally
        {
            ArrayPool<Symbol>.Shared.Return(symbols);
        }
    }

    /// <summary>The next '▁' after <paramref name="start"/> that follows another character, or the end.</summary>
    private static int NextWordStart(ReadOnlySpan<char> text, int start)
    {
        int pos = start + 1;
        while (pos < text.Length)
        {
            int found = text[pos..].IndexOf(SpaceSymbol);
            if (found < 0) return text.Length;
            pos += found;
            if (text[pos - 1] != SpaceSymbol) return pos;
            pos++;
        }
        return text.Length;
    }

    private void EncodeSegment(ReadOnlySpan<char> text, Symbol[] symbols, BigramQueue queue, Dictionary<int, int>? revMerge,
        List<int> output, ref bool previousWasUnknown)
    {
        int count = Split(text, symbols);
        for (int i = 1; i < count; i++) TryAddBigram(text, symbols, i - 1, i, queue, revMerge);

        while (queue.TryPop(out Bigram top))
        {
            ref Symbol left = ref symbols[top.Left];
            ref Symbol right = ref symbols[top.Right];
            // Stale: one side was merged away or grew since this pair was queued.
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != top.Length) continue;
            left.Length += right.Length;
            right.Length = 0;
            left.Next = right.Next;
            if (right.Next >= 0) symbols[right.Next].Prev = top.Left;
            TryAddBigram(text, symbols, left.Prev, top.Left, queue, revMerge);
            TryAddBigram(text, symbols, top.Left, left.Next, queue, revMerge);
        }

        for (int i = 0; i != -1; i = symbols[i].Next)
            Resegment(text.Slice(symbols[i].Start, symbols[i].Length), output, revMerge, ref previousWasUnknown);
    }

    /// <summary>One symbol per character (a surrogate pair is one), or per user-defined piece (longest match).</summary>
    private int Split(ReadOnlySpan<char> text, Symbol[] symbols)
    {
        int count = 0;
        for (int pos = 0; pos < text.Length; count++)
        {
            int length = _maxUserDefinedChars > 0 ? MatchUserDefined(text[pos..]) : 0;
            bool frozen = length > 0;
            if (!frozen) length = char.IsHighSurrogate(text[pos]) && pos + 1 < text.Length && char.IsLowSurrogate(text[pos + 1]) ? 2 : 1;
            symbols[count] = new Symbol { Start = pos, Length = length, Prev = count - 1, Next = -1, Frozen = frozen };
            if (count > 0) symbols[count - 1].Next = count;
            pos += length;
        }
        return count;
    }

    private int MatchUserDefined(ReadOnlySpan<char> text)
    {
        for (int length = Math.Min(_maxUserDefinedChars, text.Length); length > 0; length--)
            if (_userDefined.ContainsKey(text[..length])) return length;
        return 0;
    }

    private void TryAddBigram(ReadOnlySpan<char> text, Symbol[] symbols, int left, int right, BigramQueue queue, Dictionary<int, int>? revMerge)
    {
        if (left < 0 || right < 0) return;
        ref Symbol l = ref symbols[left];
        ref Symbol r = ref symbols[right];
        int length = l.Length + r.Length;
        if (length > _maxPieceChars || l.Frozen || r.Frozen) return;
        if (!_pieces.TryGetValue(text.Slice(l.Start, length), out int id)) return;
        queue.Push(new Bigram { Score = _scores[id], Left = left, Right = right, Length = length });
        // An unused piece may steer merges but is never output: remember how to split it again.
        if (revMerge != null && _types[id] == TokenType.Unused) revMerge[id] = l.Length;
    }

    private void Resegment(ReadOnlySpan<char> piece, List<int> output, Dictionary<int, int>? revMerge, ref bool previousWasUnknown)
    {
        if (_pieces.TryGetValue(piece, out int id))
        {
            if (revMerge != null && _types[id] == TokenType.Unused && revMerge.TryGetValue(id, out int leftLength))
            {
                Resegment(piece[..leftLength], output, revMerge, ref previousWasUnknown);
                Resegment(piece[leftLength..], output, revMerge, ref previousWasUnknown);
                return;
            }
            output.Add(id);
            previousWasUnknown = false;
            return;
        }
        if (_byteIds == null)
        {
            // sentencepiece merges a run of unknown symbols into one unknown token
            if (!previousWasUnknown) output.Add(_unknownId);
            previousWasUnknown = true;
            return;
        }
        Span<byte> utf8 = piece.Length <= 64 ? stackalloc byte[piece.Length * 3] : new byte[piece.Length * 3];
        int n = Encoding.UTF8.GetBytes(piece, utf8);
        foreach (byte b in utf8[..n]) output.Add(_byteIds[b]);
        previousWasUnknown = false;
    }
}
