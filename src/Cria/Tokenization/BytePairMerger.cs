using System.Buffers;

namespace Cria.Tokenization;

/// <summary>tiktoken's byte-pair merge over one pre-tokenized piece: start from single bytes and repeatedly merge
/// the adjacent pair whose concatenation has the lowest rank (the leftmost on a tie) until no pair is a token.
/// A token's rank is its id. Short pieces use tiktoken's own loop (a scan per merge); long ones a heap, with the
/// same choice at every step, so a 100 KB piece costs O(n log n), not O(n²).</summary>
internal sealed class BytePairMerger
{
    private const int NoRank = int.MaxValue;
    private const int ShortPiece = 64; // bytes; below this the plain scan beats the heap's bookkeeping

    private readonly ByteSequenceTable _ranks;
    private readonly int[] _byteRank = new int[256];

    /// <summary><paramref name="ranks"/> must hold all 256 single bytes (checked by the vocabulary loaders).</summary>
    public BytePairMerger(ByteSequenceTable ranks)
    {
        _ranks = ranks;
        for (int b = 0; b < 256; b++)
        {
            byte one = (byte)b;
            _byteRank[b] = ranks.Find(new ReadOnlySpan<byte>(in one));
            if (_byteRank[b] < 0) throw new ArgumentException($"byte 0x{b:X2} has no rank", nameof(ranks));
        }
    }

    /// <summary>Appends the ids of <paramref name="piece"/> (non-empty) to <paramref name="ids"/>.</summary>
    public void Merge(ReadOnlySpan<byte> piece, List<int> ids)
    {
        if (piece.Length == 1) ids.Add(_byteRank[piece[0]]);
        else if (piece.Length <= ShortPiece) MergeShort(piece, ids);
        else MergeLong(piece, ids);
    }

    private int Rank(ReadOnlySpan<byte> bytes)
    {
        int rank = _ranks.Find(bytes);
        return rank < 0 ? NoRank : rank;
    }

    /// <summary>tiktoken's <c>_byte_pair_merge</c>: part k starts at start[k]; pairRank[k] is the rank of part k joined with part k+1.</summary>
    internal void MergeShort(ReadOnlySpan<byte> piece, List<int> ids)
    {
        int n = piece.Length;
        Span<int> start = stackalloc int[n + 1];
        Span<int> pairRank = stackalloc int[n + 1];
        Span<int> token = stackalloc int[n];
        for (int i = 0; i < n; i++)
        {
            start[i] = i;
            token[i] = _byteRank[piece[i]];
            pairRank[i] = i + 1 < n ? Rank(piece.Slice(i, 2)) : NoRank;
        }
        start[n] = n;
        int parts = n; // parts 0..parts-1, start[parts] == n
        while (true)
        {
            int best = -1, bestRank = NoRank;
            for (int k = 0; k < parts - 1; k++)
            {
                if (pairRank[k] < bestRank)
                {
                    bestRank = pairRank[k];
                    best = k;
                }
            }
            if (best < 0) break;
            token[best] = bestRank;
            // Remove part best+1, then re-rank the pairs that now end or start at the merged part.
            for (int k = best + 1; k < parts - 1; k++)
            {
                start[k] = start[k + 1];
                pairRank[k] = pairRank[k + 1];
                token[k] = token[k + 1];
            }
            start[parts - 1] = n;
            parts--;
            pairRank[best] = best + 1 < parts ? Rank(piece[start[best]..start[best + 2]]) : NoRank;
            if (best > 0) pairRank[best - 1] = Rank(piece[start[best - 1]..start[best + 1]]);
        }
        for (int k = 0; k < parts; k++) ids.Add(token[k]);
    }

    /// <summary>The same merges in the same order with a min-heap of (rank, start). Parts are named by their start byte,
    /// which never changes (a part only grows rightward); a heap entry is stale once its part's pair rank differs.</summary>
    internal void MergeLong(ReadOnlySpan<byte> piece, List<int> ids)
    {
        int n = piece.Length;
        int[] next = ArrayPool<int>.Shared.Rent(n);
        int[] prev = ArrayPool<int>.Shared.Rent(n);
        int[] pairRank = ArrayPool<int>.Shared.Rent(n);
        int[] token = ArrayPool<int>.Shared.Rent(n);
        long[] heap = ArrayPool<long>.Shared.Rent(n);
        try
        {
            int count = 0;
            for (int i = 0; i < n; i++)
            {
                next[i] = i + 1;
                prev[i] = i - 1;
                token[i] = _byteRank[piece[i]];
                pairRank[i] = i + 1 < n ? Rank(piece.Slice(i, 2)) : NoRank;
                if (pairRank[i] != NoRank) heap[count++] = Key(pairRank[i], i);
            }
            for (int i = count / 2 - 1; i >= 0; i--) SiftDown(heap, count, i);
            while (count > 0)
            {
                long top = heap[0];
                heap[0] = heap[--count];
                SiftDown(heap, count, 0);
                int s = (int)top, rank = (int)(top >> 32);
                if (token[s] < 0 || pairRank[s] != rank) continue; // merged away, or re-ranked since queued
                int gone = next[s];
                token[s] = rank;
                token[gone] = -1;
                next[s] = next[gone];
                if (next[s] < n) prev[next[s]] = s;
                pairRank[s] = next[s] < n ? Rank(piece[s..NextEnd(next, n, next[s])]) : NoRank;
                if (pairRank[s] != NoRank) Push(ref heap, ref count, Key(pairRank[s], s));
                int p = prev[s];
                if (p >= 0)
                {
                    pairRank[p] = Rank(piece[p..next[s]]);
                    if (pairRank[p] != NoRank) Push(ref heap, ref count, Key(pairRank[p], p));
                }
            }
            for (int s = 0; s < n; s = next[s]) ids.Add(token[s]);
        }
        finally
        {
            ArrayPool<long>.Shared.Return(heap);
            ArrayPool<int>.Shared.Return(token);
            ArrayPool<int>.Shared.Return(pairRank);
            ArrayPool<int>.Shared.Return(prev);
            ArrayPool<int>.Shared.Return(next);
        }
    }

    private static int NextEnd(int[] next, int n, int part) => part < n ? next[part] : n;

    private static long Key(int rank, int start) => ((long)rank << 32) | (uint)start;

    private static void Push(ref long[] heap, ref int count, long key)
    {
        if (count == heap.Length)
        {
            long[] bigger = ArrayPool<long>.Shared.Rent(heap.Length * 2);
            heap.AsSpan(0, count).CopyTo(bigger);
            ArrayPool<long>.Shared.Return(heap);
            heap = bigger;
        }
        int i = count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (heap[parent] <= key) break;
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = key;
    }

    private static void SiftDown(long[] heap, int count, int i)
    {
        long item = heap[i];
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= count) break;
            if (child + 1 < count && heap[child + 1] < heap[child]) child++;
            if (heap[child] >= item) break;
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = item;
    }
}
