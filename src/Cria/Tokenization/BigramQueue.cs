using System.Buffers;

namespace Cria.Tokenization;

/// <summary>A candidate merge of two adjacent symbols into the vocabulary piece with <see cref="Score"/>.</summary>
internal struct Bigram
{
    public float Score;
    public int Left;
    public int Right;
    /// <summary>Combined length (chars) when queued; a different length later means the pair is stale.</summary>
    public int Length;
}

/// <summary>Binary max-heap of bigrams in SentencePiece's order: highest score first, ties to the leftmost
/// (sentencepiece <c>SymbolPairComparator</c>, llama.cpp <c>llm_bigram_spm::comparator</c>). Storage is pooled.</summary>
internal sealed class BigramQueue : IDisposable
{
    private Bigram[] _items;
    private int _count;

    public BigramQueue(int capacity) => _items = ArrayPool<Bigram>.Shared.Rent(Math.Max(capacity, 16));

    public int Count => _count;

    public void Push(in Bigram item)
    {
        if (_count == _items.Length) Grow();
        Bigram[] items = _items;
        int i = _count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Before(item, items[parent])) break;
            items[i] = items[parent];
            i = parent;
        }
        items[i] = item;
    }

    public bool TryPop(out Bigram top)
    {
        if (_count == 0)
        {
            top = default;
            return false;
        }
        Bigram[] items = _items;
        top = items[0];
        Bigram last = items[--_count];
        int n = _count, i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && Before(items[child + 1], items[child])) child++;
            if (!Before(items[child], last)) break;
            items[i] = items[child];
            i = child;
        }
        if (n > 0) items[i] = last;
        return true;
    }

    public void Dispose()
    {
        if (_items != null) ArrayPool<Bigram>.Shared.Return(_items);
        _items = null!;
    }

    private static bool Before(in Bigram a, in Bigram b) => a.Score > b.Score || (a.Score == b.Score && a.Left < b.Left);

    private void Grow()
    {
        Bigram[] bigger = ArrayPool<Bigram>.Shared.Rent(_items.Length * 2);
        Array.Copy(_items, bigger, _count);
        ArrayPool<Bigram>.Shared.Return(_items);
        _items = bigger;
    }
}
