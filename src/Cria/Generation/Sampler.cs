namespace Cria.Generation;

/// <summary>Chooses the next token from logits, in llama.cpp's order: repetition penalty, top-k, top-p, min-p,
/// temperature, then a seeded random draw (or the arg-max when the temperature is 0). All buffers are made once;
/// sampling allocates nothing.</summary>
public sealed class Sampler
{
    private readonly SamplerOptions _options;
    private readonly int _vocabSize;
    private readonly float[] _logits;
    private readonly float[] _keys;
    private readonly int[] _ids;
    private readonly int[] _history;
    private readonly int[] _penalisedStamp;
    private readonly Xoshiro256 _random;
    private int _historyCount;
    private int _historyNext;
    private int _stamp;

    public ulong Seed { get; }

    public Sampler(SamplerOptions options, int vocabSize)
    {
        options.Validate();
        _options = options;
        _vocabSize = vocabSize;
        _logits = new float[vocabSize];
        _keys = new float[vocabSize];
        _ids = new int[vocabSize];
        _history = new int[Math.Max(1, options.RepeatLastN)];
        _penalisedStamp = new int[vocabSize];
        Seed = options.Seed ?? (ulong)Random.Shared.NextInt64();
        _random = new Xoshiro256(Seed);
    }

    /// <summary>Records a token of the context (prompt or generated) for the repetition penalty.</summary>
    public void Accept(int token)
    {
        if (_options.RepeatLastN == 0) return;
        _history[_historyNext] = token;
        _historyNext = (_historyNext + 1) % _history.Length;
        _historyCount = Math.Min(_historyCount + 1, _history.Length);
    }

    public void ResetHistory() => _historyCount = _historyNext = 0;

    /// <summary>The next token for <paramref name="logits"/> (only the first VocabSize entries are considered).</summary>
    public int Sample(ReadOnlySpan<float> logits)
    {
        var work = _logits.AsSpan();
        logits[.._vocabSize].CopyTo(work);
        ApplyRepeatPenalty(work);
        if (_options.Temperature == 0) return ArgMax(work);

        int n = SelectTopK(work);
        var keys = _keys.AsSpan(0, n);    // candidates' logits, most likely first
        var ids = _ids.AsSpan(0, n);
        n = CutByProbability(keys);        // top-p and min-p, measured before temperature as llama.cpp does
        return Draw(keys[..n], ids[..n]);
    }

    private void ApplyRepeatPenalty(Span<float> logits)
    {
        float penalty = _options.RepeatPenalty;
        if (penalty == 1 || _historyCount == 0) return;
        _stamp++;
        for (int i = 0; i < _historyCount; i++)
        {
            int id = _history[i];
            if ((uint)id >= (uint)_vocabSize || _penalisedStamp[id] == _stamp) continue; // once per distinct token
            _penalisedStamp[id] = _stamp;
            logits[id] = logits[id] > 0 ? logits[id] / penalty : logits[id] * penalty;
        }
    }

    private static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i; // ties go to the lowest id, as in llama.cpp
        return best;
    }

    // Fills _keys/_ids with the top-k candidates sorted by logit, highest first; returns how many.
    private int SelectTopK(ReadOnlySpan<float> logits)
    {
        int k = _options.TopK is > 0 && _options.TopK < _vocabSize ? _options.TopK : _vocabSize;
        var keys = _keys.AsSpan(0, _vocabSize);
        var ids = _ids.AsSpan(0, _vocabSize);
        for (int i = 0; i < _vocabSize; i++)
        {
            keys[i] = -logits[i]; // negated so an ascending sort puts the most likely first
            ids[i] = i;
        }
        if (k < _vocabSize) QuickSelect(keys, ids, k);
        keys[..k].Sort(ids[..k]);
        for (int i = 0; i < k; i++) keys[i] = -keys[i];
        StableTies(keys[..k], ids[..k]);
        return k;
    }

    // Partitions so that the k smallest keys come first (Hoare quickselect, median-of-three pivots).
    private static void QuickSelect(Span<float> keys, Span<int> ids, int k)
    {
        int lo = 0, hi = keys.Length - 1;
        while (lo < hi)
        {
            int mid = lo + (hi - lo) / 2;
            float pivot = Median(keys[lo], keys[mid], keys[hi]);
            int i = lo, j = hi;
            while (i <= j)
            {
                while (keys[i] < pivot) i++;
                while (keys[j] > pivot) j--;
                if (i <= j)
                {
                    (keys[i], keys[j]) = (keys[j], keys[i]);
                    (ids[i], ids[j]) = (ids[j], ids[i]);
                    i++;
                    j--;
                }
            }
            if (k - 1 <= j) hi = j;
            else if (k - 1 >= i) lo = i;
            else return;
        }
    }

    private static float Median(float a, float b, float c) => Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));

    // Span.Sort is not stable: order equal logits by id so results do not depend on the sort's internals.
    private static void StableTies(Span<float> keys, Span<int> ids)
    {
        for (int start = 0; start < keys.Length;)
        {
            int end = start + 1;
            while (end < keys.Length && keys[end] == keys[start]) end++;
            if (end - start > 1) ids[start..end].Sort();
            start = end;
        }
    }

    private int CutByProbability(ReadOnlySpan<float> sorted)
    {
        float max = sorted[0];
        double total = 0;
        foreach (float l in sorted) total += Math.Exp(l - max);
        int keep = sorted.Length;
        if (_options.TopP < 1)
        {
            double cumulative = 0;
            for (int i = 0; i < sorted.Length; i++)
            {
                cumulative += Math.Exp(sorted[i] - max) / total;
                if (cumulative >= _options.TopP) { keep = i + 1; break; }
            }
        }
        if (_options.MinP > 0)
        {
            double threshold = max + Math.Log(_options.MinP); // p ≥ min_p · p_max  ⇔  logit ≥ max + ln(min_p)
            int i = 1;
            while (i < keep && sorted[i] >= threshold) i++;
            keep = i;
        }
        return keep;
    }

    private int Draw(ReadOnlySpan<float> sorted, ReadOnlySpan<int> ids)
    {
        double inverseTemperature = 1.0 / _options.Temperature;
        float max = sorted[0];
        double total = 0;
        foreach (float l in sorted) total += Math.Exp((l - max) * inverseTemperature);
        double target = _random.NextDouble() * total;
        double cumulative = 0;
        for (int i = 0; i < sorted.Length; i++)
        {
            cumulative += Math.Exp((sorted[i] - max) * inverseTemperature);
            if (target < cumulative) return ids[i];
        }
        return ids[sorted.Length - 1];
    }
}
