using System.Numerics.Tensors;
using Cria.Tensors.Kernels;
using Cria.Threading;

namespace Cria.Model.Jobs;

/// <summary>Causal grouped-query attention for a batch: one item per (token, query head); each query head reads the
/// cached keys and values of its KV head for positions 0…its own.</summary>
internal sealed unsafe class AttentionJob : ParallelJob
{
    private readonly KvCache _cache;
    private readonly LlamaConfig _config;
    private readonly float[][] _scores; // per worker, one context's worth
    private float* _q;
    private float* _output;
    private int _layer;
    private int _firstPosition;

    public AttentionJob(KvCache cache, LlamaConfig config, int workers)
    {
        _cache = cache;
        _config = config;
        _scores = new float[workers][];
        for (int i = 0; i < workers; i++) _scores[i] = new float[cache.Capacity];
    }

    public void Set(float* q, float* output, int layer, int firstPosition)
    {
        _q = q;
        _output = output;
        _layer = layer;
        _firstPosition = firstPosition;
    }

    public override void Execute(int start, int end, int worker)
    {
        int heads = _config.HeadCount, headDim = _config.HeadDim, qDim = _config.QueryDim;
        int group = heads / _config.KvHeadCount;
        float scale = 1f / MathF.Sqrt(headDim);
        var scoresBuffer = _scores[worker];
        for (int item = start; item < end; item++)
        {
            int t = item / heads, h = item % heads;
            int kvOffset = h / group * headDim;
            int length = _firstPosition + t + 1;
            var q = new ReadOnlySpan<float>(_q + (long)t * qDim + h * headDim, headDim);
            var scores = scoresBuffer.AsSpan(0, length);
            for (int j = 0; j < length; j++)
                scores[j] = TensorPrimitives.Dot(q, new ReadOnlySpan<float>(_cache.Key(_layer, j) + kvOffset, headDim)) * scale;
            Softmax.Apply(scores);
            var output = new Span<float>(_output + (long)t * qDim + h * headDim, headDim);
            output.Clear();
            for (int j = 0; j < length; j++)
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(_cache.Value(_layer, j) + kvOffset, headDim), scores[j], output, output);
        }
    }
}
