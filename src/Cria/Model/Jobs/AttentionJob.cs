using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cria.Tensors.Kernels;
using Cria.Threading;

namespace Cria.Model.Jobs;

/// <summary>Causal grouped-query attention for a batch: one item per (token, KV head). The query heads that share a
/// KV head are scored together against the transposed key cache (each key vector of sixteen positions is loaded
/// once for all of them), softmaxed, and then weight the cached values four positions at a time.</summary>
internal sealed unsafe class AttentionJob : ParallelJob
{
    private const int HeadChunk = 8; // query heads scored per pass over the keys (accumulators stay in registers)

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
                for (int h0 = 0; h0 < group; h0 += HeadChunk)
                    Scores(q + h0 * headDim, Math.Min(HeadChunk, group - h0), g, length, scores + h0 * stride, stride, scale);
                for (int h = 0; h < group; h++) Softmax.Apply(new Span<float>(scores + h * stride, length));
                float* output = _output + (long)t * qDim + g * group * headDim;
                for (int h = 0; h < group; h++) WeightedValues(scores + h * stride, length, g, output + h * headDim);
            }
        }
    }

    // scores[h][j] = scale · q_h · k_j for the heads of one KV head, sixteen positions per vector.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Scores(float* q, int heads, int kvHead, int length, float* scores, int stride, float scale)
    {
        int headDim = _config.HeadDim;
        int capacity = _cache.Capacity;
        float* keys = _cache.KeyComponent(_layer, kvHead * headDim);
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j < length; j += 16) // past the end the cache holds stale values: scored, then never used
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                for (int d = 0; d < headDim; d++)
                {
                    var k = Vector512.Load(keys + (long)d * capacity + j);
                    float* qd = q + d;
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(qd[0]), k, a0);
                    if (heads > 1) a1 = Vector512.FusedMultiplyAdd(Vector512.Create(qd[headDim]), k, a1);
                    if (heads > 2) a2 = Vector512.FusedMultiplyAdd(Vector512.Create(qd[2 * headDim]), k, a2);
                    if (heads > 3) a3 = Vector512.FusedMultiplyAdd(Vector512.Create(qd[3 * headDim]), k, a3);
                    if (heads > 4) a4 = Vector512.FusedMultiplyAdd(Vector512.Create(qd[4 * headDim]), k, a4);
                    if (heads > 5) a5 = Vector512.FusedMultiplyAdd(Vector512.Create(qd[5 * headDim]), k, a5);
                    if (heads > 6) a6 = Vector512.FusedMultiplyAdd(Vector512.Create(qd[6 * headDim]), k, a6);
                    if (heads > 7) a7 = Vector512.FusedMultiplyAdd(Vector512.Create(qd[7 * headDim]), k, a7);
                }
                var s = Vector512.Create(scale);
                (a0 * s).Store(scores + j);
                if (heads > 1) (a1 * s).Store(scores + stride + j);
                if (heads > 2) (a2 * s).Store(scores + 2 * stride + j);
                if (heads > 3) (a3 * s).Store(scores + 3 * stride + j);
                if (heads > 4) (a4 * s).Store(scores + 4 * stride + j);
                if (heads > 5) (a5 * s).Store(scores + 5 * stride + j);
                if (heads > 6) (a6 * s).Store(scores + 6 * stride + j);
                if (heads > 7) (a7 * s).Store(scores + 7 * stride + j);
            }
            return;
        }
        for (int h = 0; h < heads; h++)
            for (j = 0; j < length; j++)
            {
                float sum = 0;
                for (int d = 0; d < headDim; d++) sum += q[h * headDim + d] * keys[(long)d * capacity + j];
                scores[h * stride + j] = sum * scale;
            }
    }

    // output = Σ_j p_j · v_j over one head's slice of the values, four positions per read-modify-write of the output.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WeightedValues(float* p, int length, int kvHead, float* output)
    {
        int headDim = _config.HeadDim, kvDim = _config.KvDim;
        float* values = _cache.Value(_layer, 0) + kvHead * headDim;
        var o = new Span<float>(output, headDim);
        o.Clear();
        int j = 0;
        if (Vector512.IsHardwareAccelerated && headDim % 16 == 0)
        {
            for (; j + 4 <= length; j += 4)
            {
                float* v0 = values + (long)j * kvDim;
                var p0 = Vector512.Create(p[j]); var p1 = Vector512.Create(p[j + 1]);
                var p2 = Vector512.Create(p[j + 2]); var p3 = Vector512.Create(p[j + 3]);
                for (int d = 0; d < headDim; d += 16)
                {
                    var acc = Vector512.Load(output + d);
                    acc = Vector512.FusedMultiplyAdd(p0, Vector512.Load(v0 + d), acc);
                    acc = Vector512.FusedMultiplyAdd(p1, Vector512.Load(v0 + kvDim + d), acc);
                    acc = Vector512.FusedMultiplyAdd(p2, Vector512.Load(v0 + 2 * kvDim + d), acc);
                    acc = Vector512.FusedMultiplyAdd(p3, Vector512.Load(v0 + 3 * kvDim + d), acc);
                    acc.Store(output + d);
                }
            }
        }
        for (; j < length; j++)
            TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(values + (long)j * kvDim, headDim), p[j], o, o);
    }
}
