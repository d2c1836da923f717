using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cria.Tensors;
using Cria.Tensors.Kernels;
using Cria.Threading;

namespace Cria.Model.Jobs;

/// <summary>Causal grouped-query attention for a batch: one item per (token, KV head). The query heads that share a
/// KV head are scored together against the head's key blocks (each key vector of sixteen positions is loaded once for
/// all of them), softmaxed, and then weight the head's cached values, up to four heads' sums held in registers; both are
/// read front to back. 512- and 256-bit bodies; scalar below that.</summary>
internal sealed unsafe class AttentionJob : ParallelJob
{
    private const int HeadChunk = 8; // query heads scored per pass over the keys (accumulators stay in registers)
    private const int ValueHeadChunk = 4; // query heads summed per pass over the values (4 × 64 floats in registers)

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
                for (int h0 = 0; h0 < group; h0 += ValueHeadChunk)
                    WeightedValues(scores + h0 * stride, stride, Math.Min(ValueHeadChunk, group - h0), length, g, output + h0 * headDim);
            }
        }
    }

    // scores[h][j] = scale · q_h · k_j for the heads of one KV head, sixteen positions per vector.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Scores(float* q, int heads, int kvHead, int length, float* scores, int stride, float scale)
    {
        int headDim = _config.HeadDim;
        float* keys = _cache.KeyHead(_layer, kvHead);
        int j = 0;
        if (SimdTier.Current >= 512)
        {
            for (; j < length; j += KvCache.KeyBlock) // past the end the block holds stale values: scored, then never used
            {
                float* block = keys + (long)j * headDim;
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                for (int d = 0; d < headDim; d++)
                {
                    var k = Vector512.Load(block + KvCache.KeyBlock * d);
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
        if (SimdTier.Current >= 256)
        {
            for (int h0 = 0; h0 < heads; h0 += 4)
                Scores256(q + h0 * headDim, Math.Min(4, heads - h0), keys, length, scores + h0 * stride, stride, scale);
            return;
        }
        for (int h = 0; h < heads; h++)
            for (j = 0; j < length; j++)
            {
                float sum = 0;
                for (int d = 0; d < headDim; d++) sum += q[h * headDim + d] * keys[(long)(j / KvCache.KeyBlock) * KvCache.KeyBlock * headDim + KvCache.KeyBlock * d + j % KvCache.KeyBlock];
                scores[h * stride + j] = sum * scale;
            }
    }

    // Scores for up to four heads with 256-bit vectors: a key block's sixteen positions are two vectors, so four heads
    // take eight accumulators and the sixteen registers hold them with both key halves and a broadcast.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Scores256(float* q, int heads, float* keys, int length, float* scores, int stride, float scale)
    {
        int headDim = _config.HeadDim;
        var s = Vector256.Create(scale);
        for (int j = 0; j < length; j += KvCache.KeyBlock)
        {
            float* block = keys + (long)j * headDim;
            Vector256<float> a0 = default, a1 = default, b0 = default, b1 = default, c0 = default, c1 = default, e0 = default, e1 = default;
            for (int d = 0; d < headDim; d++)
            {
                var k0 = Vector256.Load(block + KvCache.KeyBlock * d);
                var k1 = Vector256.Load(block + KvCache.KeyBlock * d + 8);
                float* qd = q + d;
                var w = Vector256.Create(qd[0]);
                a0 = Vector256.FusedMultiplyAdd(w, k0, a0); a1 = Vector256.FusedMultiplyAdd(w, k1, a1);
                if (heads > 1) { w = Vector256.Create(qd[headDim]); b0 = Vector256.FusedMultiplyAdd(w, k0, b0); b1 = Vector256.FusedMultiplyAdd(w, k1, b1); }
                if (heads > 2) { w = Vector256.Create(qd[2 * headDim]); c0 = Vector256.FusedMultiplyAdd(w, k0, c0); c1 = Vector256.FusedMultiplyAdd(w, k1, c1); }
                if (heads > 3) { w = Vector256.Create(qd[3 * headDim]); e0 = Vector256.FusedMultiplyAdd(w, k0, e0); e1 = Vector256.FusedMultiplyAdd(w, k1, e1); }
            }
            float* o = scores + j;
            (a0 * s).Store(o); (a1 * s).Store(o + 8);
            if (heads > 1) { o += stride; (b0 * s).Store(o); (b1 * s).Store(o + 8); }
            if (heads > 2) { o += stride; (c0 * s).Store(o); (c1 * s).Store(o + 8); }
            if (heads > 3) { o += stride; (e0 * s).Store(o); (e1 * s).Store(o + 8); }
        }
    }

    // output_h = Σ_j p_h[j] · v_j for up to four heads of one KV head: each 64-float slice of a value vector is loaded
    // once for all of them, and the sums stay in sixteen registers over every position.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WeightedValues(float* p, int stride, int heads, int length, int kvHead, float* output)
    {
        int headDim = _config.HeadDim;
        float* values = _cache.ValueHead(_layer, kvHead);
        int d = 0;
        if (SimdTier.Current >= 512)
        {
            for (; d + 64 <= headDim; d += 64)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
                Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, e0 = default, e1 = default, e2 = default, e3 = default;
                float* v = values + d;
                for (int j = 0; j < length; j++, v += headDim)
                {
                    var v0 = Vector512.Load(v); var v1 = Vector512.Load(v + 16); var v2 = Vector512.Load(v + 32); var v3 = Vector512.Load(v + 48);
                    var w = Vector512.Create(p[j]);
                    a0 = Vector512.FusedMultiplyAdd(w, v0, a0); a1 = Vector512.FusedMultiplyAdd(w, v1, a1);
                    a2 = Vector512.FusedMultiplyAdd(w, v2, a2); a3 = Vector512.FusedMultiplyAdd(w, v3, a3);
                    if (heads > 1)
                    {
                        w = Vector512.Create(p[stride + j]);
                        b0 = Vector512.FusedMultiplyAdd(w, v0, b0); b1 = Vector512.FusedMultiplyAdd(w, v1, b1);
                        b2 = Vector512.FusedMultiplyAdd(w, v2, b2); b3 = Vector512.FusedMultiplyAdd(w, v3, b3);
                    }
                    if (heads > 2)
                    {
                        w = Vector512.Create(p[2 * stride + j]);
                        c0 = Vector512.FusedMultiplyAdd(w, v0, c0); c1 = Vector512.FusedMultiplyAdd(w, v1, c1);
                        c2 = Vector512.FusedMultiplyAdd(w, v2, c2); c3 = Vector512.FusedMultiplyAdd(w, v3, c3);
                    }
                    if (heads > 3)
                    {
                        w = Vector512.Create(p[3 * stride + j]);
                        e0 = Vector512.FusedMultiplyAdd(w, v0, e0); e1 = Vector512.FusedMultiplyAdd(w, v1, e1);
                        e2 = Vector512.FusedMultiplyAdd(w, v2, e2); e3 = Vector512.FusedMultiplyAdd(w, v3, e3);
                    }
                }
                float* o = output + d;
                a0.Store(o); a1.Store(o + 16); a2.Store(o + 32); a3.Store(o + 48);
                if (heads > 1) { o += headDim; b0.Store(o); b1.Store(o + 16); b2.Store(o + 32); b3.Store(o + 48); }
                if (heads > 2) { o += headDim; c0.Store(o); c1.Store(o + 16); c2.Store(o + 32); c3.Store(o + 48); }
                if (heads > 3) { o += headDim; e0.Store(o); e1.Store(o + 16); e2.Store(o + 32); e3.Store(o + 48); }
            }
        }
        if (SimdTier.Current >= 256)
            for (; d + 16 <= headDim; d += 16) // 16-float slices: four heads × two vectors of sums in registers
            {
                Vector256<float> a0 = default, a1 = default, b0 = default, b1 = default, c0 = default, c1 = default, e0 = default, e1 = default;
                float* v = values + d;
                for (int j = 0; j < length; j++, v += headDim)
                {
                    var v0 = Vector256.Load(v); var v1 = Vector256.Load(v + 8);
                    var w = Vector256.Create(p[j]);
                    a0 = Vector256.FusedMultiplyAdd(w, v0, a0); a1 = Vector256.FusedMultiplyAdd(w, v1, a1);
                    if (heads > 1) { w = Vector256.Create(p[stride + j]); b0 = Vector256.FusedMultiplyAdd(w, v0, b0); b1 = Vector256.FusedMultiplyAdd(w, v1, b1); }
                    if (heads > 2) { w = Vector256.Create(p[2 * stride + j]); c0 = Vector256.FusedMultiplyAdd(w, v0, c0); c1 = Vector256.FusedMultiplyAdd(w, v1, c1); }
                    if (heads > 3) { w = Vector256.Create(p[3 * stride + j]); e0 = Vector256.FusedMultiplyAdd(w, v0, e0); e1 = Vector256.FusedMultiplyAdd(w, v1, e1); }
                }
                float* o = output + d;
                a0.Store(o); a1.Store(o + 8);
                if (heads > 1) { o += headDim; b0.Store(o); b1.Store(o + 8); }
                if (heads > 2) { o += headDim; c0.Store(o); c1.Store(o + 8); }
                if (heads > 3) { o += headDim; e0.Store(o); e1.Store(o + 8); }
            }
        if (d == headDim) return;
        for (int h = 0; h < heads; h++) // the rest of each head (all of it without 256-bit vectors), position by position
        {
            var o = new Span<float>(output + h * headDim + d, headDim - d);
            o.Clear();
            for (int j = 0; j < length; j++)
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(values + (long)j * headDim + d, headDim - d), p[h * stride + j], o, o);
        }
    }
}
