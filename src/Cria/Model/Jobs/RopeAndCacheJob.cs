using Cria.Threading;

namespace Cria.Model.Jobs;

/// <summary>Rotates each token's query and key heads to its position, then stores its key and value in the cache.</summary>
internal sealed unsafe class RopeAndCacheJob : ParallelJob
{
    private readonly Rope _rope;
    private readonly KvCache _cache;
    private readonly LlamaConfig _config;
    private float* _q;
    private float* _k;
    private float* _v;
    private float* _cos;
    private float* _sin;
    private int _layer;
    private int _firstPosition;

    public RopeAndCacheJob(Rope rope, KvCache cache, LlamaConfig config)
    {
        _rope = rope;
        _cache = cache;
        _config = config;
    }

    /// <param name="cos">Per token, RopeDim/2 cosines (row stride RopeDim/2); likewise <paramref name="sin"/>.</param>
    public void Set(float* q, float* k, float* v, float* cos, float* sin, int layer, int firstPosition)
    {
        _q = q;
        _k = k;
        _v = v;
        _cos = cos;
        _sin = sin;
        _layer = layer;
        _firstPosition = firstPosition;
    }

    public override void Execute(int start, int end, int worker)
    {
        int qDim = _config.QueryDim, kvDim = _config.KvDim, pairs = _config.RopeDim / 2;
        for (int t = start; t < end; t++)
        {
            var cos = new ReadOnlySpan<float>(_cos + (long)t * pairs, pairs);
            var sin = new ReadOnlySpan<float>(_sin + (long)t * pairs, pairs);
            _rope.Rotate(new Span<float>(_q + (long)t * qDim, qDim), _config.HeadCount, cos, sin);
            var key = new Span<float>(_k + (long)t * kvDim, kvDim);
            _rope.Rotate(key, _config.KvHeadCount, cos, sin);
            _cache.Store(_layer, _firstPosition + t, key, new ReadOnlySpan<float>(_v + (long)t * kvDim, kvDim));
        }
    }
}
