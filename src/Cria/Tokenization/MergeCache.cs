namespace Cria.Tokenization;

/// <summary>Remembers the ids of recently merged pieces (words not in the vocabulary recur: names, code, inflections),
/// so each is merged once. Direct-mapped and lock-free: an entry is immutable and replaced whole, so readers on other
/// threads see either the old entry or the new one, both correct.</summary>
internal sealed class MergeCache
{
    public const int MaxPieceBytes = 64;
    private const int Size = 8192; // entries, a power of two

    private sealed class Entry(byte[] piece, int[] ids)
    {
        public readonly byte[] Piece = piece;
        public readonly int[] Ids = ids;
    }

    private readonly Entry?[] _entries = new Entry?[Size];

    /// <summary>The ids cached for <paramref name="piece"/>, or null.</summary>
    public int[]? Find(ReadOnlySpan<byte> piece, ulong hash)
    {
        Entry? entry = Volatile.Read(ref _entries[(int)hash & (Size - 1)]);
        return entry != null && entry.Piece.AsSpan().SequenceEqual(piece) ? entry.Ids : null;
    }

    public void Add(ReadOnlySpan<byte> piece, ulong hash, ReadOnlySpan<int> ids) =>
        Volatile.Write(ref _entries[(int)hash & (Size - 1)], new Entry(piece.ToArray(), ids.ToArray()));
}
