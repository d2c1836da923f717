using Cria.Tensors.Kernels;
using Cria.Threading;

namespace Cria.Model.Jobs;

/// <summary>Causal grouped-query attention for a batch: one item per (token, KV head). The query heads that share a
/// KV head are scored together against the head's key blocks (each key vector of sixteen positions is loaded once for
/// all of them), softmaxed, and then weight the head's cached values, up to four heads' sums held in registers; both are
/// read front to back (<see cref="AttentionKernels"/>).</summary>
internal sealed unsafe class AttentionJob : ParallelJob
{
    private readonly KvCache _cache;
    private readonly LlamaConfig _config;
    private readonly float[][] _scores; // per worker: group heads × one context of scores
    private float* _q;
    private float* _output;
    private int _layer;
    private int _firstPosition;

    public AttentionJob(KvCache cache, LlamaConfig config, int workers)
    {
        _cache = cache;
        _config = config;
        int group = config.HeadCount / config.KvHeadCount;
        _scores = new float[workers][];
        for (int i = 0; i < workers; i++) _scores[i] = GC.AllocateUninitializedArray<float>(group * (cache.Capacity + 16), pinned: true);
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
        int kvHeads = _config.KvHeadCount, headDim = _config.HeadDim, qDim = _config.QueryDim;
        int group = _config.HeadCount / kvHeads;
        int stride = _cache.Capacity + 16;
        float scale = 1f / MathF.Sqrt(headDim);
        fixed (float* scores = _scores[worker])
        {
            for (int item = start; item < end; item++)
            {
                int t = item / kvHeads, g = item % kvHeads;
                int length = _firstPosition + t + 1;
                float* q = _q + (long)t * qDim + g * group * headDim;
                float* keys = _cache.KeyHead(_layer, g), values = _cache.ValueHead(_layer, g);
                for (int h0 = 0; h0 < group; h0 += AttentionKernels.ScoreHeads)
                    AttentionKernels.Scores(q + h0 * headDim, Math.Min(AttentionKernels.ScoreHeads, group - h0), headDim, keys, length, scores + h0 * stride, stride, scale);
                for (int h = 0; h < group; h++) Softmax.Apply(new Span<float>(scores + h * stride, length));
                float* output = _output + (long)t * qDim + g * group * headDim;
                for (int h0 = 0; h0 < group; h0 += AttentionKernels.ValueHeads)
                    AttentionKernels.WeightedValues(scores + h0 * stride, stride, Math.Min(AttentionKernels.ValueHeads, group - h0), headDim, values, length, output + h0 * headDim);
            }
        }
    }
}
