using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cria.Tensors;

namespace Cria.Model.Jobs;

/// <summary>The two halves of decode attention over one KV head's cache (<see cref="KvCache"/> layout): scores of a
/// few query heads against the key blocks, and the values weighted by their probabilities. Each has 512-, 256- and
/// 128-bit bodies that keep every head's sums in registers over the whole context, and a scalar one.</summary>
internal static unsafe class AttentionKernels
{
    /// <summary>The most query heads <see cref="Scores"/> takes per call (their sums stay in registers).</summary>
    public const int ScoreHeads = 8;
    /// <summary>The most query heads <see cref="WeightedValues"/> takes per call.</summary>
    public const int ValueHeads = 4;

    /// <summary>scores[h · stride + j] = scale · q_h · k_j for j &lt; length rounded up to a key block (the block's
    /// positions past the end hold stale values: scored, then never used), for up to <see cref="ScoreHeads"/> heads
    /// whose queries sit headDim apart at <paramref name="q"/>.</summary>
    public static void Scores(float* q, int heads, int headDim, float* keys, int length, float* scores, int stride, float scale)
    {
        int tier = SimdTier.Current;
        if (tier >= 512) Scores512(q, heads, headDim, keys, length, scores, stride, scale);
        else if (tier >= 256)
            for (int h0 = 0; h0 < heads; h0 += 4)
                Scores256(q + h0 * headDim, Math.Min(4, heads - h0), headDim, keys, length, scores + h0 * stride, stride, scale);
        else if (tier >= 128)
            for (int h0 = 0; h0 < heads; h0 += 2)
                Scores128(q + h0 * headDim, Math.Min(2, heads - h0), headDim, keys, length, scores + h0 * stride, stride, scale);
        else ScoresScalar(q, heads, headDim, keys, length, scores, stride, scale);
    }

    /// <summary>output_h = Σ_{j &lt; length} p_h[j] · v_j for up to <see cref="ValueHeads"/> heads, whose
    /// probabilities sit stride apart at <paramref name="p"/> and outputs headDim apart.</summary>
    public static void WeightedValues(float* p, int stride, int heads, int headDim, float* values, int length, float* output)
    {
        int tier = SimdTier.Current, d = 0;
        if (tier >= 512) d = Values512(p, stride, heads, headDim, values, length, output);
        if (tier >= 256) d = Values256(p, stride, heads, headDim, values, length, output, d);
        if (tier >= 128) d = Values128(p, stride, heads, headDim, values, length, output, d);
        ValuesScalar(p, stride, heads, headDim, values, length, output, d);
    }

    // Sixteen positions per vector: each key vector is loaded once for all eight heads.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scores512(float* q, int heads, int headDim, float* keys, int length, float* scores, int stride, float scale)
    {
        var s = Vector512.Create(scale);
        for (int j = 0; j < length; j += KvCache.KeyBlock)
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
            (a0 * s).Store(scores + j);
            if (heads > 1) (a1 * s).Store(scores + stride + j);
            if (heads > 2) (a2 * s).Store(scores + 2 * stride + j);
            if (heads > 3) (a3 * s).Store(scores + 3 * stride + j);
            if (heads > 4) (a4 * s).Store(scores + 4 * stride + j);
            if (heads > 5) (a5 * s).Store(scores + 5 * stride + j);
            if (heads > 6) (a6 * s).Store(scores + 6 * stride + j);
            if (heads > 7) (a7 * s).Store(scores + 7 * stride + j);
        }
    }

    // A key block is two vectors: four heads take eight accumulators, which sixteen registers hold with the keys.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scores256(float* q, int heads, int headDim, float* keys, int length, float* scores, int stride, float scale)
    {
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

    // A key block is four vectors: two heads take eight accumulators (SSE's sixteen registers, NEON's thirty-two).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scores128(float* q, int heads, int headDim, float* keys, int length, float* scores, int stride, float scale)
    {
        var s = Vector128.Create(scale);
        for (int j = 0; j < length; j += KvCache.KeyBlock)
        {
            float* block = keys + (long)j * headDim;
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
            for (int d = 0; d < headDim; d++)
            {
                float* k = block + KvCache.KeyBlock * d;
                var k0 = Vector128.Load(k); var k1 = Vector128.Load(k + 4); var k2 = Vector128.Load(k + 8); var k3 = Vector128.Load(k + 12);
                var w = Vector128.Create(q[d]);
                a0 = Vector128.FusedMultiplyAdd(w, k0, a0); a1 = Vector128.FusedMultiplyAdd(w, k1, a1);
                a2 = Vector128.FusedMultiplyAdd(w, k2, a2); a3 = Vector128.FusedMultiplyAdd(w, k3, a3);
                if (heads > 1)
                {
                    w = Vector128.Create(q[headDim + d]);
                    b0 = Vector128.FusedMultiplyAdd(w, k0, b0); b1 = Vector128.FusedMultiplyAdd(w, k1, b1);
                    b2 = Vector128.FusedMultiplyAdd(w, k2, b2); b3 = Vector128.FusedMultiplyAdd(w, k3, b3);
                }
            }
            float* o = scores + j;
            (a0 * s).Store(o); (a1 * s).Store(o + 4); (a2 * s).Store(o + 8); (a3 * s).Store(o + 12);
            if (heads > 1) { o += stride; (b0 * s).Store(o); (b1 * s).Store(o + 4); (b2 * s).Store(o + 8); (b3 * s).Store(o + 12); }
        }
    }

    private static void ScoresScalar(float* q, int heads, int headDim, float* keys, int length, float* scores, int stride, float scale)
    {
        for (int h = 0; h < heads; h++)
            for (int j = 0; j < length; j++)
            {
                float* k = keys + (long)(j / KvCache.KeyBlock) * KvCache.KeyBlock * headDim + j % KvCache.KeyBlock;
                float sum = 0;
                for (int d = 0; d < headDim; d++) sum += q[h * headDim + d] * k[KvCache.KeyBlock * d];
                scores[h * stride + j] = sum * scale;
            }
    }

    // 64-float slices: four heads × four vectors of sums in sixteen registers, each value vector loaded once for all.
    // Returns the first column it left.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Values512(float* p, int stride, int heads, int headDim, float* values, int length, float* output)
    {
        int d = 0;
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
        return d;
    }

    // 16-float slices from column d: four heads × two vectors of sums.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Values256(float* p, int stride, int heads, int headDim, float* values, int length, float* output, int d)
    {
        for (; d + 16 <= headDim; d += 16)
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
        return d;
    }

    // 8-float slices from column d: four heads × two vectors of sums.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Values128(float* p, int stride, int heads, int headDim, float* values, int length, float* output, int d)
    {
        for (; d + 8 <= headDim; d += 8)
        {
            Vector128<float> a0 = default, a1 = default, b0 = default, b1 = default, c0 = default, c1 = default, e0 = default, e1 = default;
            float* v = values + d;
            for (int j = 0; j < length; j++, v += headDim)
            {
                var v0 = Vector128.Load(v); var v1 = Vector128.Load(v + 4);
                var w = Vector128.Create(p[j]);
                a0 = Vector128.FusedMultiplyAdd(w, v0, a0); a1 = Vector128.FusedMultiplyAdd(w, v1, a1);
                if (heads > 1) { w = Vector128.Create(p[stride + j]); b0 = Vector128.FusedMultiplyAdd(w, v0, b0); b1 = Vector128.FusedMultiplyAdd(w, v1, b1); }
                if (heads > 2) { w = Vector128.Create(p[2 * stride + j]); c0 = Vector128.FusedMultiplyAdd(w, v0, c0); c1 = Vector128.FusedMultiplyAdd(w, v1, c1); }
                if (heads > 3) { w = Vector128.Create(p[3 * stride + j]); e0 = Vector128.FusedMultiplyAdd(w, v0, e0); e1 = Vector128.FusedMultiplyAdd(w, v1, e1); }
            }
            float* o = output + d;
            a0.Store(o); a1.Store(o + 4);
            if (heads > 1) { o += headDim; b0.Store(o); b1.Store(o + 4); }
            if (heads > 2) { o += headDim; c0.Store(o); c1.Store(o + 4); }
            if (heads > 3) { o += headDim; e0.Store(o); e1.Store(o + 4); }
        }
        return d;
    }

    // Columns d… of each head, position by position (all of them on the scalar tier).
    private static void ValuesScalar(float* p, int stride, int heads, int headDim, float* values, int length, float* output, int d)
    {
        if (d == headDim) return;
        for (int h = 0; h < heads; h++)
        {
            float* o = output + h * headDim;
            for (int c = d; c < headDim; c++) o[c] = 0;
            for (int j = 0; j < length; j++)
            {
                float w = p[h * stride + j];
                float* v = values + (long)j * headDim;
                for (int c = d; c < headDim; c++) o[c] = MathF.FusedMultiplyAdd(w, v[c], o[c]);
            }
        }
    }
}
