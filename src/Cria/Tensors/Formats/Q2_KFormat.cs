using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

/// <summary>Q2_K: super-blocks of 256 2-bit values in 16 sub-blocks of 16, 84 bytes (ggml-common.h):
/// <code>typedef struct {
///     uint8_t scales[16]; // sub-block k: scale = scales[k] &amp; 0xF, min = scales[k] &gt;&gt; 4
///     uint8_t qs[64];     // element 128h + 32j + l (l &lt; 32): (qs[32h + l] &gt;&gt; 2j) &amp; 3, sub-block 8h + 2j + l/16
///     ggml_half d;        // super-block scale for the scales
///     ggml_half dmin;     // super-block scale for the mins
/// } block_q2_K;           // value = d*scale * q - dmin*min</code></summary>
public readonly unsafe partial struct Q2_KFormat : IBlockFormat
{
    public static GgmlType Type => GgmlType.Q2_K;
    public static int BlockElements => 256;
    public static int BlockBytes => 84;

    /// <summary>ggml <c>dequantize_row_q2_K</c>: <c>dl*q - ml</c> with <c>dl = d*scale</c>, <c>ml = dmin*min</c>.</summary>
    public static void Dequantize(byte* src, float* y, long n)
    {
        for (long i = 0; i < n / 256; i++, src += 84)
        {
            float d = Fp16.LoadScale(src + 80);
            float min = Fp16.LoadScale(src + 82);
            byte* scales = src;
            byte* q = src + 16;
            int s = 0;
            for (int half = 0; half < 2; half++, q += 32)
                for (int shift = 0; shift < 8; shift += 2)
                {
                    int sc = scales[s++];
                    float dl = d * (sc & 0xF), ml = min * (sc >> 4);
                    for (int l = 0; l < 16; l++) *y++ = dl * ((q[l] >> shift) & 3) - ml;
                    sc = scales[s++];
                    dl = d * (sc & 0xF); ml = min * (sc >> 4);
                    for (int l = 0; l < 16; l++) *y++ = dl * ((q[l + 16] >> shift) & 3) - ml;
                }
        }
    }

    public static float Dot(byte* row, float* x, int n)
    {
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) return Dot512(row, x, n / 256);
        if (bits >= 256 && SimdTier.Has256) return Dot256(row, x, n / 256);
        if (bits >= 128 && SimdTier.Has128) return Dot128(row, x, n / 256);
        return DotScalar(row, x, n / 256);
    }

    // Each sub-block becomes a 16-entry table dl*(i &amp; 3) - ml; vpermps reads the low 4 bits of (q &gt;&gt; shift),
    // and the table repeats every 4 entries, so the two higher quants in those bits do not matter.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot512(byte* b, float* x, int nb)
    {
        var mod4 = Vector512.Create(0f, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3);
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        for (int i = 0; i < nb; i++, b += 84)
        {
            Prefetch.Ahead(b, 2);
            var sc = WideLoad.U8x16(b);
            var dl = Vector512.ConvertToSingle(sc & Vector512.Create(0xF)) * Vector512.Create(Fp16.LoadScale(b + 80));
            var ml = Vector512.ConvertToSingle(sc >>> 4) * Vector512.Create(-Fp16.LoadScale(b + 82));
            var k = Vector512<int>.Zero;
            for (int half = 0; half < 2; half++, x += 128)
            {
                var qa = WideLoad.U8x16(b + 16 + 32 * half);
                var qb = WideLoad.U8x16(b + 32 + 32 * half);
                for (int j = 0; j < 4; j++)
                {
                    var ta = Vector512.FusedMultiplyAdd(mod4, Avx512F.PermuteVar16x32(dl, k), Avx512F.PermuteVar16x32(ml, k));
                    k += Vector512<int>.One;
                    var tb = Vector512.FusedMultiplyAdd(mod4, Avx512F.PermuteVar16x32(dl, k), Avx512F.PermuteVar16x32(ml, k));
                    k += Vector512<int>.One;
                    acc0 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32(ta, qa >>> (2 * j)), Vector512.Load(x + 32 * j), acc0);
                    acc1 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32(tb, qb >>> (2 * j)), Vector512.Load(x + 32 * j + 16), acc1);
                }
            }
        }
        return Vector512.Sum(acc0 + acc1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot256(byte* b, float* x, int nb)
    {
        var three = Vector256.Create(3);
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        for (int i = 0; i < nb; i++, b += 84)
        {
            Prefetch.Ahead(b, 2);
            float d = Fp16.LoadScale(b + 80), dmin = Fp16.LoadScale(b + 82);
            for (int half = 0; half < 2; half++)
            {
                byte* q = b + 16 + 32 * half;
                for (int j = 0; j < 8; j++, x += 16) // sub-block 8*half + j: bytes 16*(j&1) …, shifted by 2*(j/2)
                {
                    int sc = b[8 * half + j], shift = 2 * (j >> 1);
                    var dl = Vector256.Create(d * (sc & 0xF));
                    var ml = Vector256.Create(-dmin * (sc >> 4));
                    byte* qj = q + 16 * (j & 1);
                    var w0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle((WideLoad.U8x8(qj) >>> shift) & three), dl, ml);
                    var w1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle((WideLoad.U8x8(qj + 8) >>> shift) & three), dl, ml);
                    acc0 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(x), acc0);
                    acc1 = Vector256.FusedMultiplyAdd(w1, Vector256.Load(x + 8), acc1);
                }
            }
        }
        return Vector256.Sum(acc0 + acc1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot128(byte* b, float* x, int nb)
    {
        var three = Vector128.Create(3);
        var acc0 = Vector128<float>.Zero;
        var acc1 = Vector128<float>.Zero;
        for (int i = 0; i < nb; i++, b += 84)
        {
            float d = Fp16.LoadScale(b + 80), dmin = Fp16.LoadScale(b + 82);
            for (int half = 0; half < 2; half++)
            {
                byte* q = b + 16 + 32 * half;
                for (int j = 0; j < 8; j++, x += 16)
                {
                    int sc = b[8 * half + j], shift = 2 * (j >> 1);
                    var dl = Vector128.Create(d * (sc & 0xF));
                    var ml = Vector128.Create(-dmin * (sc >> 4));
                    byte* qj = q + 16 * (j & 1);
                    for (int l = 0; l < 16; l += 8)
                    {
                        var w0 = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle((WideLoad.U8x4(qj + l) >>> shift) & three), dl, ml);
                        var w1 = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle((WideLoad.U8x4(qj + l + 4) >>> shift) & three), dl, ml);
                        acc0 = Vector128.MultiplyAddEstimate(w0, Vector128.Load(x + l), acc0);
                        acc1 = Vector128.MultiplyAddEstimate(w1, Vector128.Load(x + l + 4), acc1);
                    }
                }
            }
        }
        return Vector128.Sum(acc0 + acc1);
    }

    private static float DotScalar(byte* b, float* x, int nb)
    {
        float sum = 0;
        for (int i = 0; i < nb; i++, b += 84)
        {
            float d = Fp16.LoadScale(b + 80), dmin = Fp16.LoadScale(b + 82);
            for (int half = 0; half < 2; half++)
            {
                byte* q = b + 16 + 32 * half;
                for (int j = 0; j < 8; j++, x += 16)
                {
                    int sc = b[8 * half + j], shift = 2 * (j >> 1);
                    byte* qj = q + 16 * (j & 1);
                    float sq = 0, sx = 0;
                    for (int l = 0; l < 16; l++)
                    {
                        sq += ((qj[l] >> shift) & 3) * x[l];
                        sx += x[l];
                    }
                    sum += d * (sc & 0xF) * sq - dmin * (sc >> 4) * sx;
                }
            }
        }
        return sum;
    }
}
