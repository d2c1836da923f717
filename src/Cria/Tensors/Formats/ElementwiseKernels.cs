using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Tensors.Formats;

/// <summary>How one float-like element type (F32, F16, BF16) loads as floats; every load is an exact conversion.</summary>
internal unsafe interface IElementLoader
{
    static abstract int ElementBytes { get; }
    static abstract float Load1(byte* p);
    static abstract Vector128<float> Load4(byte* p);
    static abstract Vector256<float> Load8(byte* p);
    static abstract Vector512<float> Load16(byte* p);

    /// <summary>Whether Dot should prefetch the weights: helps F16 (conversion work per byte), hurts F32/BF16, whose
    /// plain streams the hardware prefetcher already keeps up with.</summary>
    static abstract bool PrefetchWeights { get; }

    /// <summary><see cref="Load16"/> for data known to hold no inf/NaN (may be cheaper).</summary>
    static abstract Vector512<float> Load16Finite(byte* p);

    /// <summary>Whether the 64 elements at <paramref name="p"/> may hold an inf/NaN that <see cref="Load16Finite"/>
    /// would get wrong.</summary>
    static abstract bool AnyNonFinite64(byte* p);
}

/// <summary>Dequantize and Dot for one-element-per-block types, specialised per loader by the JIT (struct generic).</summary>
internal static unsafe class ElementwiseKernels<T> where T : struct, IElementLoader
{
    public static void Dequantize(byte* src, float* dst, long n)
    {
        int bits = SimdTier.MaxVectorBits;
        long i = 0;
        if (bits >= 512 && SimdTier.Has512)
            for (; i + 16 <= n; i += 16) T.Load16(src + i * T.ElementBytes).Store(dst + i);
        else if (bits >= 256 && SimdTier.Has256)
            for (; i + 8 <= n; i += 8) T.Load8(src + i * T.ElementBytes).Store(dst + i);
        else if (bits >= 128 && SimdTier.Has128)
            for (; i + 4 <= n; i += 4) T.Load4(src + i * T.ElementBytes).Store(dst + i);
        for (; i < n; i++) dst[i] = T.Load1(src + i * T.ElementBytes);
    }

    public static float Dot(byte* row, float* x, int n)
    {
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) return Dot512(row, x, n);
        if (bits >= 256 && SimdTier.Has256) return Dot256(row, x, n);
        if (bits >= 128 && SimdTier.Has128) return Dot128(row, x, n);
        return Tail(row, x, 0, n, 0f);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot512(byte* w, float* x, int n)
    {
        const int W = 16;
        var acc0 = Vector512<float>.Zero; var acc1 = acc0; var acc2 = acc0; var acc3 = acc0;
        int i = 0;
        for (; i + 4 * W <= n; i += 4 * W) // four independent chains hide the FMA latency
        {
            byte* p = w + i * T.ElementBytes;
            if (T.PrefetchWeights) Prefetch.Ahead(p, T.ElementBytes);
            if (T.AnyNonFinite64(p))
            {
                acc0 = Vector512.FusedMultiplyAdd(T.Load16(p + 0 * W * T.ElementBytes), Vector512.Load(x + i + 0 * W), acc0);
                acc1 = Vector512.FusedMultiplyAdd(T.Load16(p + 1 * W * T.ElementBytes), Vector512.Load(x + i + 1 * W), acc1);
                acc2 = Vector512.FusedMultiplyAdd(T.Load16(p + 2 * W * T.ElementBytes), Vector512.Load(x + i + 2 * W), acc2);
                acc3 = Vector512.FusedMultiplyAdd(T.Load16(p + 3 * W * T.ElementBytes), Vector512.Load(x + i + 3 * W), acc3);
                continue;
            }
            acc0 = Vector512.FusedMultiplyAdd(T.Load16Finite(p + 0 * W * T.ElementBytes), Vector512.Load(x + i + 0 * W), acc0);
            acc1 = Vector512.FusedMultiplyAdd(T.Load16Finite(p + 1 * W * T.ElementBytes), Vector512.Load(x + i + 1 * W), acc1);
            acc2 = Vector512.FusedMultiplyAdd(T.Load16Finite(p + 2 * W * T.ElementBytes), Vector512.Load(x + i + 2 * W), acc2);
            acc3 = Vector512.FusedMultiplyAdd(T.Load16Finite(p + 3 * W * T.ElementBytes), Vector512.Load(x + i + 3 * W), acc3);
        }
        for (; i + W <= n; i += W)
            acc0 = Vector512.FusedMultiplyAdd(T.Load16(w + i * T.ElementBytes), Vector512.Load(x + i), acc0);
        return Tail(w, x, i, n, Vector512.Sum((acc0 + acc1) + (acc2 + acc3)));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot256(byte* w, float* x, int n)
    {
        const int W = 8;
        var acc0 = Vector256<float>.Zero; var acc1 = acc0; var acc2 = acc0; var acc3 = acc0;
        int i = 0;
        for (; i + 4 * W <= n; i += 4 * W)
        {
            if (T.PrefetchWeights) Prefetch.Ahead(w + i * T.ElementBytes, T.ElementBytes / 2);
            acc0 = Vector256.FusedMultiplyAdd(T.Load8(w + (i + 0 * W) * T.ElementBytes), Vector256.Load(x + i + 0 * W), acc0);
            acc1 = Vector256.FusedMultiplyAdd(T.Load8(w + (i + 1 * W) * T.ElementBytes), Vector256.Load(x + i + 1 * W), acc1);
            acc2 = Vector256.FusedMultiplyAdd(T.Load8(w + (i + 2 * W) * T.ElementBytes), Vector256.Load(x + i + 2 * W), acc2);
            acc3 = Vector256.FusedMultiplyAdd(T.Load8(w + (i + 3 * W) * T.ElementBytes), Vector256.Load(x + i + 3 * W), acc3);
        }
        for (; i + W <= n; i += W)
            acc0 = Vector256.FusedMultiplyAdd(T.Load8(w + i * T.ElementBytes), Vector256.Load(x + i), acc0);
        return Tail(w, x, i, n, Vector256.Sum((acc0 + acc1) + (acc2 + acc3)));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot128(byte* w, float* x, int n)
    {
        const int W = 4;
        var acc0 = Vector128<float>.Zero; var acc1 = acc0; var acc2 = acc0; var acc3 = acc0;
        int i = 0;
        for (; i + 4 * W <= n; i += 4 * W)
        {
            acc0 = Vector128.MultiplyAddEstimate(T.Load4(w + (i + 0 * W) * T.ElementBytes), Vector128.Load(x + i + 0 * W), acc0);
            acc1 = Vector128.MultiplyAddEstimate(T.Load4(w + (i + 1 * W) * T.ElementBytes), Vector128.Load(x + i + 1 * W), acc1);
            acc2 = Vector128.MultiplyAddEstimate(T.Load4(w + (i + 2 * W) * T.ElementBytes), Vector128.Load(x + i + 2 * W), acc2);
            acc3 = Vector128.MultiplyAddEstimate(T.Load4(w + (i + 3 * W) * T.ElementBytes), Vector128.Load(x + i + 3 * W), acc3);
        }
        for (; i + W <= n; i += W)
            acc0 = Vector128.MultiplyAddEstimate(T.Load4(w + i * T.ElementBytes), Vector128.Load(x + i), acc0);
        return Tail(w, x, i, n, Vector128.Sum((acc0 + acc1) + (acc2 + acc3)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Tail(byte* w, float* x, int i, int n, float sum)
    {
        for (; i < n; i++) sum += T.Load1(w + i * T.ElementBytes) * x[i];
        return sum;
    }
}
