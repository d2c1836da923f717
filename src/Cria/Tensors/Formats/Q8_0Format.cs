using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Tensors.Formats;

/// <summary>Q8_0: blocks of 32 signed bytes with one fp16 scale, 34 bytes (ggml-common.h):
/// <code>typedef struct { ggml_half d; int8_t qs[32]; } block_q8_0;   // value[j] = qs[j] * d</code></summary>
public readonly unsafe partial struct Q8_0Format : IBlockFormat
{
    public static GgmlType Type => GgmlType.Q8_0;
    public static int BlockElements => 32;
    public static int BlockBytes => 34;

    /// <summary>ggml <c>dequantize_row_q8_0</c>: <c>y = qs[j]*d</c> (the 512-bit body does the same single multiply).</summary>
    public static void Dequantize(byte* src, float* dst, long n)
    {
        long i = 0;
        if (SimdTier.MaxVectorBits >= 512 && SimdTier.Has512)
            for (; i < n / 32; i++, src += 34, dst += 32)
            {
                var d = Vector512.Create(Fp16.LoadScale(src));
                (Vector512.ConvertToSingle(WideLoad.I8x16(src + 2)) * d).Store(dst);
                (Vector512.ConvertToSingle(WideLoad.I8x16(src + 18)) * d).Store(dst + 16);
            }
        for (; i < n / 32; i++, src += 34, dst += 32)
        {
            float d = Fp16.LoadScale(src);
            sbyte* qs = (sbyte*)(src + 2);
            for (int j = 0; j < 32; j++) dst[j] = qs[j] * d;
        }
    }

    public static float Dot(byte* row, float* x, int n)
    {
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) return Dot512(row, x, n / 32);
        if (bits >= 256 && SimdTier.Has256) return Dot256(row, x, n / 32);
        if (bits >= 128 && SimdTier.Has128) return Dot128(row, x, n / 32);
        return DotScalar(row, x, n / 32);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot512(byte* b, float* x, int nb)
    {
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        int i = 0;
        for (; i + 2 <= nb; i += 2, b += 68, x += 64) // two blocks per step: two independent accumulator chains
        {
            Prefetch.Ahead(b, 2);
            var s0 = Vector512.ConvertToSingle(WideLoad.I8x16(b + 2)) * Vector512.Load(x);
            s0 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(WideLoad.I8x16(b + 18)), Vector512.Load(x + 16), s0);
            acc0 = Vector512.FusedMultiplyAdd(s0, Vector512.Create(Fp16.LoadScale(b)), acc0);
            var s1 = Vector512.ConvertToSingle(WideLoad.I8x16(b + 36)) * Vector512.Load(x + 32);
            s1 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(WideLoad.I8x16(b + 52)), Vector512.Load(x + 48), s1);
            acc1 = Vector512.FusedMultiplyAdd(s1, Vector512.Create(Fp16.LoadScale(b + 34)), acc1);
        }
        if (i < nb)
        {
            var s0 = Vector512.ConvertToSingle(WideLoad.I8x16(b + 2)) * Vector512.Load(x);
            s0 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(WideLoad.I8x16(b + 18)), Vector512.Load(x + 16), s0);
            acc0 = Vector512.FusedMultiplyAdd(s0, Vector512.Create(Fp16.LoadScale(b)), acc0);
        }
        return Vector512.Sum(acc0 + acc1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot256(byte* b, float* x, int nb)
    {
        var acc = Vector256<float>.Zero;
        for (int i = 0; i < nb; i++, b += 34, x += 32)
        {
            Prefetch.Ahead(b);
            var s0 = Vector256.ConvertToSingle(WideLoad.I8x8(b + 2)) * Vector256.Load(x);
            var s1 = Vector256.ConvertToSingle(WideLoad.I8x8(b + 10)) * Vector256.Load(x + 8);
            s0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(WideLoad.I8x8(b + 18)), Vector256.Load(x + 16), s0);
            s1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(WideLoad.I8x8(b + 26)), Vector256.Load(x + 24), s1);
            acc = Vector256.FusedMultiplyAdd(s0 + s1, Vector256.Create(Fp16.LoadScale(b)), acc);
        }
        return Vector256.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot128(byte* b, float* x, int nb)
    {
        var acc = Vector128<float>.Zero;
        for (int i = 0; i < nb; i++, b += 34, x += 32)
        {
            var s0 = Vector128<float>.Zero;
            var s1 = Vector128<float>.Zero;
            for (int k = 0; k < 32; k += 8)
            {
                s0 = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(WideLoad.I8x4(b + 2 + k)), Vector128.Load(x + k), s0);
                s1 = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(WideLoad.I8x4(b + 6 + k)), Vector128.Load(x + k + 4), s1);
            }
            acc = Vector128.MultiplyAddEstimate(s0 + s1, Vector128.Create(Fp16.LoadScale(b)), acc);
        }
        return Vector128.Sum(acc);
    }

    private static float DotScalar(byte* b, float* x, int nb)
    {
        float sum = 0;
        for (int i = 0; i < nb; i++, b += 34, x += 32)
        {
            sbyte* qs = (sbyte*)(b + 2);
            float s = 0;
            for (int j = 0; j < 32; j++) s += qs[j] * x[j];
            sum += s * Fp16.LoadScale(b);
        }
        return sum;
    }
}
